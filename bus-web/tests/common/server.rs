//! Starting the `bus-server` binary on a free port for a test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// A `bus-server` process listening on a free loopback port; killed on drop.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT/`.
    pub(crate) url: String,
    log: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Starts `bus-server --port 0` with `extra` arguments and waits (at most
    /// 30 s) until it says where it listens.
    ///
    /// # Panics
    /// When it cannot start or does not listen in time, with its log.
    pub(crate) fn start(extra: &[&str]) -> Self {
        Self::start_on(0, extra)
    }

    /// Starts `bus-server` on `port` (0 for a free one) with `extra`
    /// arguments and waits (at most 30 s) until it says where it listens.
    ///
    /// # Panics
    /// When it cannot start or does not listen in time, with its log.
    pub(crate) fn start_on(port: u16, extra: &[&str]) -> Self {
        Self::try_start_on(port, extra).unwrap_or_else(|error| panic!("{error}"))
    }

    /// As [`ServerProcess::start_on`], returning what went wrong (with the
    /// server's log) instead of panicking, such as a port still in use.
    pub(crate) fn try_start_on(port: u16, extra: &[&str]) -> Result<Self, String> {
        let port = port.to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_bus-server"))
            .args(["--bind", "127.0.0.1", "--port", &port, "--log", "info"])
            .args(extra)
            .env_remove("BUS_PORT")
            .env_remove("BUS_BIND")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot start bus-server: {error}"))?;
        let log = Arc::new(Mutex::new(String::new()));
        let (url_tx, url_rx) = mpsc::channel();
        if let Some(stderr) = child.stderr.take() {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(start) = line.find("listening on http://") {
                        if let Some(url) = line[start + "listening on ".len()..]
                            .split_whitespace()
                            .next()
                        {
                            let _ = url_tx.send(url.to_owned());
                        }
                    }
                    if let Ok(mut log) = log.lock() {
                        log.push_str(&line);
                        log.push('\n');
                    }
                }
            });
        }
        match url_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => Ok(ServerProcess { child, url, log }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = log.lock().map(|log| log.clone()).unwrap_or_default();
                Err(format!(
                    "bus-server did not say where it listens within 30 s; its log:\n{log}"
                ))
            }
        }
    }

    /// The port it listens on.
    pub(crate) fn port(&self) -> u16 {
        self.url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in {}", self.url))
    }

    /// What the server logged so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
