//! The demo chat in headless Chromium (Debian `chromium` driven by
//! `playwright-core`) against the real `bus-server` binary: two pages chat,
//! and a page survives a server restart.
//!
//! Needs node and npm; `tests/js/setup.sh` installs the npm packages and, as
//! root, Chromium when they are missing. The steps live in
//! `tests/js/browser_chat.mjs` and `tests/js/browser_reconnect.mjs`; the
//! chat's screenshots land in the cargo target's tmp folder.

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::js::{self, NodeProcess};
use common::server::ServerProcess;

/// One Chromium at a time: two cores are not enough for more to be reliable.
static BROWSER: Mutex<()> = Mutex::new(());

fn one_browser_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    BROWSER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn two_browsers_chat_in_a_room_and_see_each_other_typing() {
    let _browser = one_browser_at_a_time();
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

#[test]
fn a_page_rejoins_its_rooms_after_the_server_restarts() {
    let _browser = one_browser_at_a_time();
    js::setup(true);
    let first = ServerProcess::start(&[]);
    let port = first.port();
    let mut script = NodeProcess::spawn("browser_reconnect.mjs", &[&first.url]);
    let ready = script.wait_for_line("READY", Duration::from_secs(60));
    let first_log = first.log();
    drop(first); // kills the server: the page loses its connection

    let mut second = None;
    let mut last_error = String::new();
    if ready {
        // The port may take a moment to be free again.
        let deadline = Instant::now() + Duration::from_secs(15);
        while second.is_none() && Instant::now() < deadline {
            match ServerProcess::try_start_on(port, &[]) {
                Ok(server) => second = Some(server),
                Err(error) => {
                    last_error = error;
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }
    let output = script.finish(Duration::from_secs(90));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let second_log = second
        .as_ref()
        .map(ServerProcess::log)
        .unwrap_or(last_error);
    assert!(
        ready && output.status.success() && stdout.contains("browser reconnect: all checks passed"),
        "browser reconnect failed (ready: {ready}, {}):\n--- stdout\n{stdout}\n--- stderr\n{}\n\
         --- first server log\n{first_log}\n--- second server log\n{second_log}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
    );
}
