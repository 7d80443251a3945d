//! A process's CPU time and resident memory, read from `/proc`.
//!
//! CPU time is `utime + stime` from `/proc/<pid>/stat` (in clock ticks of
//! `USER_HZ`, which is 100 on every Linux architecture this runs on);
//! resident memory is `VmRSS` from `/proc/<pid>/status`.

use std::time::Instant;

/// Clock ticks per second of `/proc/<pid>/stat` times (Linux's `USER_HZ`).
const TICKS_PER_SECOND: f64 = 100.0;

/// Why a process could not be sampled.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    /// `/proc/<pid>` could not be read: the process has exited, or this is not Linux.
    #[error("cannot read /proc/{pid}/{file}: {source}; is the server still running?")]
    Read {
        /// The process id.
        pid: u32,
        /// `stat` or `status`.
        file: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file did not have the expected fields.
    #[error("/proc/{pid}/{file} has an unexpected format")]
    Format {
        /// The process id.
        pid: u32,
        /// `stat` or `status`.
        file: &'static str,
    },
}

/// One reading of a process's CPU time and resident memory.
#[derive(Debug, Clone, Copy)]
pub struct ProcSample {
    /// When the reading was taken.
    pub at: Instant,
    /// User plus system CPU time so far, in seconds.
    pub cpu_seconds: f64,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
}

impl ProcSample {
    /// Reads `/proc/<pid>/stat` and `/proc/<pid>/status`.
    ///
    /// # Errors
    ///
    /// [`ProcError`] when the process is gone or the files are not as expected.
    ///
    /// # Examples
    ///
    /// ```
    /// let me = benches::loadgen::proc::ProcSample::read(std::process::id()).unwrap();
    /// assert!(me.rss_bytes > 0);
    /// ```
    pub fn read(pid: u32) -> Result<Self, ProcError> {
        let at = Instant::now();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|source| {
            ProcError::Read {
                pid,
                file: "stat",
                source,
            }
        })?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|source| {
            ProcError::Read {
                pid,
                file: "status",
                source,
            }
        })?;
        let ticks = parse_cpu_ticks(&stat).ok_or(ProcError::Format { pid, file: "stat" })?;
        let rss_kib = parse_rss_kib(&status).ok_or(ProcError::Format {
            pid,
            file: "status",
        })?;
        Ok(Self {
            at,
            cpu_seconds: ticks as f64 / TICKS_PER_SECOND,
            rss_bytes: rss_kib * 1024,
        })
    }

    /// CPU use between `earlier` and `self`, in percent of one core.
    pub fn cpu_percent_since(&self, earlier: &ProcSample) -> f64 {
        let wall = self.at.duration_since(earlier.at).as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        (self.cpu_seconds - earlier.cpu_seconds).max(0.0) / wall * 100.0
    }
}

/// `utime + stime` (fields 14 and 15) from a `/proc/<pid>/stat` line.
///
/// The command name (field 2) may contain spaces and parentheses, so fields
/// are counted from the last `)`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // after_comm starts at field 3 (state); utime is field 14 → index 11.
    let mut fields = after_comm.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `VmRSS` in KiB from `/proc/<pid>/status`.
fn parse_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_past_a_command_name_with_spaces() {
        let stat = "1234 (my (odd) server) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 100 1000 200";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
    }

    #[test]
    fn rss_is_read_from_status() {
        let status = "Name:\tnode\nVmPeak:\t 1000 kB\nVmRSS:\t   51234 kB\nThreads:\t7\n";
        assert_eq!(parse_rss_kib(status), Some(51234));
    }
}
