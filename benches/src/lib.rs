//! Benchmarks and load tools for bus (work in progress).
