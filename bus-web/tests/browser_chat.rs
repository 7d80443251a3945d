//! The demo chat in two headless Chromium pages (Debian `chromium` driven by
//! `playwright-core`): nicknames, a shared room, typing indicators, messages
//! both ways and presence, against the real `bus-server` binary.
//!
//! Needs node and npm; `tests/js/setup.sh` installs the npm packages and, as
//! root, Chromium when they are missing. `tests/js/browser_chat.mjs` holds the
//! steps; its screenshots land in the cargo target's tmp folder.

mod common;

use std::time::Duration;

use common::js;
use common::server::ServerProcess;

#[test]
fn two_browsers_chat_in_a_room_and_see_each_other_typing() {
    js::setup(true);
    let server = ServerProcess::start(&[]);
    let screenshots = env!("CARGO_TARGET_TMPDIR");
    let output = js::node(
        "browser_chat.mjs",
        &[&server.url, screenshots],
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("browser chat: all checks passed"),
        "browser chat failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}\n--- server log\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        server.log()
    );
}
