//! bus-core: an actor-based in-process event bus (work in progress).
