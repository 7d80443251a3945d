//! In-process fan-out benchmark (work in progress).
fn main() {}
