//! Helpers shared by bus-web's integration tests. Each test file uses only
//! some of them.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

pub(crate) mod engineio;
pub(crate) mod interop;
pub(crate) mod js;
pub(crate) mod server;
