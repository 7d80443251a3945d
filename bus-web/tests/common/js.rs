//! Running the JavaScript side of the tests (`tests/js/`): installing its
//! npm packages and Chromium, and running node scripts with a time limit.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The folder with `package.json`, `setup.sh` and the test scripts.
pub(crate) fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("js")
}

/// Runs `tests/js/setup.sh`: `npm ci` when `node_modules` is missing or
/// stale, and Debian's Chromium when `browser` is true and it is missing.
///
/// # Panics
/// When the setup fails or takes longer than 15 minutes, with its output.
pub(crate) fn setup(browser: bool) {
    let mut command = Command::new("bash");
    command.arg(js_dir().join("setup.sh")).current_dir(js_dir());
    if !browser {
        command.arg("--no-browser");
    }
    let output = run_with_timeout(&mut command, Duration::from_secs(15 * 60));
    assert!(
        output.status.success(),
        "tests/js/setup.sh failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `node <script> <args...>` in `tests/js/`, killed after `limit`.
pub(crate) fn node(script: &str, args: &[&str], limit: Duration) -> Output {
    let mut command = Command::new("node");
    command.arg(script).args(args).current_dir(js_dir());
    run_with_timeout(&mut command, limit)
}

/// Runs a command to completion, killing it once `limit` has passed; the
/// output of a killed command ends with a line that says so.
///
/// # Panics
/// When the command cannot be started.
pub(crate) fn run_with_timeout(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
    // Drain both pipes on their own threads so a chatty child never blocks.
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let deadline = Instant::now() + limit;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                let _ = child.kill();
                match child.wait() {
                    Ok(status) => break status,
                    Err(error) => panic!("cannot reap {command:?}: {error}"),
                }
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => panic!("cannot wait for {command:?}: {error}"),
        }
    };
    let collect = |handle: Option<std::thread::JoinHandle<Vec<u8>>>| {
        handle.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    let stdout = collect(stdout);
    let mut stderr = collect(stderr);
    if timed_out {
        stderr.extend_from_slice(format!("\n(killed after {limit:?})\n").as_bytes());
    }
    Output {
        status,
        stdout,
        stderr,
    }
}

fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = pipe.read_to_end(&mut buffer);
        buffer
    })
}

/// A node script running in the background whose stdout is read line by
/// line; killed on drop.
#[derive(Debug)]
pub(crate) struct NodeProcess {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl NodeProcess {
    /// Starts `node <script> <args...>` in `tests/js/`.
    ///
    /// # Panics
    /// When node cannot be started.
    pub(crate) fn spawn(script: &str, args: &[&str]) -> Self {
        let mut child = Command::new("node")
            .arg(script)
            .args(args)
            .current_dir(js_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start node {script}: {error}"));
        let (tx, lines) = std::sync::mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(stdout)
                    .lines()
                    .map_while(Result::ok)
                {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = child.stderr.take().map(drain);
        NodeProcess {
            child,
            lines,
            stdout: Vec::new(),
            stderr,
        }
    }

    /// Waits up to `limit` for a stdout line equal to `wanted`; false when
    /// the script ended or the time ran out first.
    pub(crate) fn wait_for_line(&mut self, wanted: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line == wanted;
                    self.stdout.push(line);
                    if found {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    /// Waits up to `limit` for the script to end (killing it after that) and
    /// returns its output.
    pub(crate) fn finish(mut self, limit: Duration) -> Output {
        let deadline = Instant::now() + limit;
        let mut timed_out = false;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    timed_out = true;
                    let _ = self.child.kill();
                    match self.child.wait() {
                        Ok(status) => break status,
                        Err(error) => panic!("cannot reap node: {error}"),
                    }
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(error) => panic!("cannot wait for node: {error}"),
            }
        };
        // The reader thread ends with the pipe; collect what is left.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.stdout.push(line);
        }
        let mut stdout = self.stdout.join("\n").into_bytes();
        stdout.push(b'\n');
        let mut stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if timed_out {
            stderr.extend_from_slice(format!("\n(killed after {limit:?})\n").as_bytes());
        }
        Output {
            status,
            stdout,
            stderr,
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
