//! The demo page's own Socket.IO client (`static/sio.js`), unit-tested with
//! node's test runner (`tests/js/sio_client.test.mjs`; needs node, which
//! `tests/js/setup.sh` installs when missing, and no npm packages).

mod common;

use std::time::Duration;

use common::js;

#[test]
fn the_page_client_codec_matches_the_protocol_examples() {
    js::setup(false); // installs node when it is missing
    let output = js::node("--test", &["sio_client.test.mjs"], Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("# fail 0"),
        "node --test sio_client.test.mjs failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}
