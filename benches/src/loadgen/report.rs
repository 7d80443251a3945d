//! Results of a run: serialisable records and a plain-text table.

use serde::{Deserialize, Serialize};

/// The result of one load run (`--in-flight` or `--rate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Which server was measured (a free-form label).
    pub server: String,
    /// `in-flight` or `rate`.
    pub mode: String,
    /// In-flight: events in flight; rate: offered deliveries per second.
    pub load: f64,
    /// Room members.
    pub clients: u32,
    /// Emitter connections.
    pub emitters: u32,
    /// Payload size in bytes of JSON.
    pub payload_bytes: usize,
    /// Length of the measured window in seconds.
    pub window_s: f64,
    /// Events sent in the measured window.
    pub events_sent: u64,
    /// Lowest id among the measured events (ids are global and increasing).
    pub first_event_id: Option<u64>,
    /// Highest id among the measured events.
    pub last_event_id: Option<u64>,
    /// Distinct deliveries of those events received by the end of the drain.
    pub deliveries: u64,
    /// Deliveries per second of the measured window.
    pub deliveries_per_s: f64,
    /// Median latency, microseconds.
    pub p50_us: u64,
    /// 99th percentile latency, microseconds.
    pub p99_us: u64,
    /// 99.9th percentile latency, microseconds.
    pub p999_us: u64,
    /// Largest latency, microseconds.
    pub max_us: u64,
    /// Deliveries never received: events sent × room size − deliveries.
    pub lost: u64,
    /// Extra copies received.
    pub duplicates: u64,
    /// Members that missed at least one event.
    pub members_short: u64,
    /// In-flight mode: waits for a completion that timed out.
    pub stalls: u64,
    /// Rate mode: the emitters' largest lag behind schedule, milliseconds.
    pub max_lag_ms: f64,
    /// Connections that failed during the run (their deliveries count as lost).
    pub connection_errors: u64,
    /// Server CPU over the measured window, percent of one core (when `--server-pid` is given).
    pub server_cpu_percent: Option<f64>,
    /// Server resident memory at the end of the window, bytes.
    pub server_rss_bytes: Option<u64>,
    /// The load generator's own CPU over the window, percent of one core.
    pub loadgen_cpu_percent: Option<f64>,
}

/// The result of an idle-connection run (`--idle`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdleReport {
    /// Which server was measured.
    pub server: String,
    /// Idle connections held open (all handshaken into `/bench`).
    pub connections: u32,
    /// Seconds to open them all.
    pub connect_s: f64,
    /// Server resident memory before connecting, bytes.
    pub rss_before_bytes: u64,
    /// Server resident memory with every connection open, bytes.
    pub rss_after_bytes: u64,
    /// (after − before) / connections, bytes.
    pub rss_per_connection_bytes: f64,
}

/// Renders rows under a header as a column-aligned plain-text table.
///
/// # Examples
///
/// ```
/// let t = benches::loadgen::report::table(&["a", "bb"], &[vec!["100".into(), "2".into()]]);
/// assert_eq!(t, "a    bb\n---  --\n100  2\n");
/// ```
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = String>| {
        let text: Vec<String> = cells
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(text.join("  ").trim_end());
        out.push('\n');
    };
    line(&mut header.iter().map(|h| (*h).to_owned()));
    line(&mut widths.iter().map(|w| "-".repeat(*w)));
    for row in rows {
        line(&mut row.iter().cloned());
    }
    out
}

/// Microseconds as milliseconds with two decimals.
pub fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

/// A count with thousands separators: `1234567` → `1 234 567`.
pub fn thousands(n: f64) -> String {
    let n = n.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

impl LoadReport {
    /// Column names for [`LoadReport::row`].
    pub const HEADER: [&'static str; 12] = [
        "server",
        "clients",
        "load",
        "deliveries/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "lost",
        "dups",
        "srv cpu%",
        "srv rss MB",
        "gen cpu%",
    ];

    /// One table row.
    pub fn row(&self) -> Vec<String> {
        let load = if self.mode == "rate" {
            format!("{}/s", thousands(self.load))
        } else {
            format!("{} in flight", self.load)
        };
        vec![
            self.server.clone(),
            self.clients.to_string(),
            load,
            thousands(self.deliveries_per_s),
            ms(self.p50_us),
            ms(self.p99_us),
            ms(self.p999_us),
            self.lost.to_string(),
            self.duplicates.to_string(),
            opt(self.server_cpu_percent.map(|c| format!("{c:.0}"))),
            opt(self
                .server_rss_bytes
                .map(|b| format!("{:.1}", b as f64 / 1e6))),
            opt(self.loadgen_cpu_percent.map(|c| format!("{c:.0}"))),
        ]
    }
}

impl IdleReport {
    /// Column names for [`IdleReport::row`].
    pub const HEADER: [&'static str; 5] = [
        "server",
        "idle conns",
        "rss before MB",
        "rss after MB",
        "KB/conn",
    ];

    /// One table row.
    pub fn row(&self) -> Vec<String> {
        vec![
            self.server.clone(),
            self.connections.to_string(),
            format!("{:.1}", self.rss_before_bytes as f64 / 1e6),
            format!("{:.1}", self.rss_after_bytes as f64 / 1e6),
            format!("{:.1}", self.rss_per_connection_bytes / 1000.0),
        ]
    }
}

fn opt(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".into())
}
