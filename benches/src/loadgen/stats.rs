//! Latency histograms and lost-event accounting.
//!
//! Every room member keeps a [`MemberTally`]: which measured events it has
//! seen (a bitset over event ids, so a duplicate cannot hide a loss) and a
//! latency histogram. After the drain, the tallies are folded into a
//! [`LossAccount`]: `lost = sent × room size − distinct deliveries`.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency the histograms track, in microseconds (60 s); larger values are clamped.
const MAX_LATENCY_MICROS: u64 = 60_000_000;

/// Which event ids one member has received (a growable bitset).
#[derive(Debug, Default, Clone)]
pub struct SeenSet {
    words: Vec<u64>,
}

impl SeenSet {
    /// Marks `id` as seen; returns `false` if it had been seen already.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut seen = benches::loadgen::stats::SeenSet::default();
    /// assert!(seen.insert(5));
    /// assert!(!seen.insert(5));
    /// ```
    pub fn insert(&mut self, id: u64) -> bool {
        let word = usize::try_from(id / 64).unwrap_or(usize::MAX);
        if word >= self.words.len() {
            if word == usize::MAX {
                return false;
            }
            self.words.resize(word + 1, 0);
        }
        let bit = 1u64 << (id % 64);
        let fresh = self.words[word] & bit == 0;
        self.words[word] |= bit;
        fresh
    }

    /// Whether `id` has been seen.
    pub fn contains(&self, id: u64) -> bool {
        usize::try_from(id / 64)
            .ok()
            .and_then(|w| self.words.get(w))
            .is_some_and(|w| w & (1u64 << (id % 64)) != 0)
    }
}

/// A new latency histogram in microseconds (2 significant digits: 1 % resolution, a few KB).
fn new_histogram() -> Histogram<u32> {
    Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 2)
        .expect("1 us..60 s at 2 significant figures is a valid histogram")
}

/// What one room member saw of the measured events.
#[derive(Debug, Clone)]
pub struct MemberTally {
    seen: SeenSet,
    latency: Histogram<u32>,
    /// Distinct measured events received.
    pub distinct: u64,
    /// Measured events received more than once (each extra copy counts once).
    pub duplicates: u64,
    /// Deliveries of events sent during warm-up (not measured).
    pub unmeasured: u64,
    /// New deliveries not yet added to the run's shared counters.
    pub(crate) unflushed: u64,
}

impl Default for MemberTally {
    fn default() -> Self {
        Self {
            seen: SeenSet::default(),
            latency: new_histogram(),
            distinct: 0,
            duplicates: 0,
            unmeasured: 0,
            unflushed: 0,
        }
    }
}

impl MemberTally {
    /// Records one delivery of measured event `id` that took `latency_micros`.
    ///
    /// Returns `true` the first time `id` is seen, `false` for a duplicate
    /// (whose latency is not recorded).
    pub fn record(&mut self, id: u64, latency_micros: u64) -> bool {
        if !self.seen.insert(id) {
            self.duplicates += 1;
            return false;
        }
        self.distinct += 1;
        self.latency
            .saturating_record(latency_micros.clamp(1, MAX_LATENCY_MICROS));
        true
    }

    /// Records a delivery of event `id`, sent outside the measured window.
    ///
    /// Returns `true` the first time `id` is seen, `false` for a duplicate.
    pub fn record_unmeasured(&mut self, id: u64) -> bool {
        if !self.seen.insert(id) {
            self.duplicates += 1;
            return false;
        }
        self.unmeasured += 1;
        true
    }

    /// Whether measured event `id` reached this member.
    pub fn has_seen(&self, id: u64) -> bool {
        self.seen.contains(id)
    }
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest recorded.
    pub max_us: u64,
    /// Mean.
    pub mean_us: f64,
}

/// The fold of every member's tally against what the emitters sent.
#[derive(Debug, Clone)]
pub struct LossAccount {
    room_size: u64,
    sent: u64,
    distinct: u64,
    duplicates: u64,
    unmeasured: u64,
    members_short: u64,
    latency: Histogram<u32>,
}

impl LossAccount {
    /// Starts an account for `sent` measured events broadcast to a room of `room_size`.
    pub fn new(sent: u64, room_size: u64) -> Self {
        Self {
            room_size,
            sent,
            distinct: 0,
            duplicates: 0,
            unmeasured: 0,
            members_short: 0,
            latency: new_histogram(),
        }
    }

    /// Adds one member's tally.
    pub fn add(&mut self, tally: &MemberTally) {
        self.distinct += tally.distinct;
        self.duplicates += tally.duplicates;
        self.unmeasured += tally.unmeasured;
        if tally.distinct < self.sent {
            self.members_short += 1;
        }
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&tally.latency);
    }

    /// Accounts for a member whose tally never came back (its task failed): it received nothing.
    pub fn add_missing_member(&mut self) {
        self.members_short += 1;
    }

    /// Measured events sent.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Deliveries expected: sent × room size.
    pub fn expected(&self) -> u64 {
        self.sent * self.room_size
    }

    /// Distinct measured deliveries received.
    pub fn delivered(&self) -> u64 {
        self.distinct
    }

    /// Deliveries that never arrived: expected − distinct received.
    ///
    /// # Examples
    ///
    /// ```
    /// use benches::loadgen::stats::{LossAccount, MemberTally};
    /// let mut full = MemberTally::default();
    /// let mut partial = MemberTally::default();
    /// for id in 0..4 {
    ///     full.record(id, 100);
    ///     if id != 2 {
    ///         partial.record(id, 100);
    ///     }
    /// }
    /// let mut account = LossAccount::new(4, 2);
    /// account.add(&full);
    /// account.add(&partial);
    /// assert_eq!(account.lost(), 1);
    /// ```
    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.distinct)
    }

    /// Extra copies of measured events received.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Deliveries of warm-up events (not measured).
    pub fn unmeasured(&self) -> u64 {
        self.unmeasured
    }

    /// Members that received fewer distinct measured events than were sent.
    pub fn members_short(&self) -> u64 {
        self.members_short
    }

    /// Latency percentiles over every distinct measured delivery.
    pub fn latency(&self) -> Latency {
        if self.latency.is_empty() {
            return Latency::default();
        }
        Latency {
            p50_us: self.latency.value_at_quantile(0.50),
            p99_us: self.latency.value_at_quantile(0.99),
            p999_us: self.latency.value_at_quantile(0.999),
            max_us: self.latency.max(),
            mean_us: self.latency.mean(),
        }
    }
}
