//! The bus server binary (work in progress).
fn main() {}
