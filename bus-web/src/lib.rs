//! bus-web: a Socket.IO gateway for bus-core (work in progress).
