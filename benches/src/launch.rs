//! Starting a bench server as a child process and waiting until it listens.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The program could not be started.
    #[error("cannot start {program}: {source}; build it first (see the side-by-side docs)")]
    Spawn {
        /// The program.
        program: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The program exited before it listened.
    #[error(
        "{program} exited with {status} before listening on {addr}; does it accept these flags?"
    )]
    Exited {
        /// The program.
        program: String,
        /// Where it should have listened.
        addr: SocketAddr,
        /// Its exit status.
        status: std::process::ExitStatus,
    },
    /// The program did not listen in time.
    #[error("{program} did not listen on {addr} within {timeout:?}")]
    NotListening {
        /// The program.
        program: String,
        /// Where it should have listened.
        addr: SocketAddr,
        /// The limit.
        timeout: Duration,
    },
    /// No free loopback port could be found.
    #[error("no free loopback port: {0}")]
    NoPort(std::io::Error),
}

/// A free port on 127.0.0.1 (bound and released; a race is possible but unlikely).
///
/// # Errors
///
/// [`LaunchError::NoPort`] when binding fails.
pub fn free_port() -> Result<u16, LaunchError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(LaunchError::NoPort)?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(LaunchError::NoPort)
}

/// A running server child process; killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    program: String,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `program args…` and waits until `addr` accepts TCP connections.
    ///
    /// The child's stdout is discarded; its stderr goes to `log` (created or
    /// truncated) when given, else it is inherited.
    ///
    /// # Errors
    ///
    /// [`LaunchError`] when it cannot be started, exits early, or does not listen within `timeout`.
    pub fn start(
        program: &Path,
        args: &[String],
        cwd: Option<&Path>,
        addr: SocketAddr,
        timeout: Duration,
        log: Option<&Path>,
    ) -> Result<Self, LaunchError> {
        let name = program.display().to_string();
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if let Some(log) = log {
            let file = std::fs::File::create(log).map_err(|source| LaunchError::Spawn {
                program: format!("{name} (log file {})", log.display()),
                source,
            })?;
            command.stderr(Stdio::from(file));
        }
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        let child = command.spawn().map_err(|source| LaunchError::Spawn {
            program: name.clone(),
            source,
        })?;
        let mut server = Self {
            child,
            program: name,
            addr,
        };
        let until = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(LaunchError::Exited {
                    program: server.program.clone(),
                    addr,
                    status,
                });
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(server);
            }
            if Instant::now() >= until {
                return Err(LaunchError::NotListening {
                    program: server.program.clone(),
                    addr,
                    timeout,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the child (SIGKILL) and waits for it.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
