//! One client's log of unacknowledged events.
//!
//! Owns sequence numbers, the sent/unsent state and redelivery deadline of
//! each retained event, retention drops and the gap they leave. It must not
//! know about sockets, queues or clocks: every method that needs the time
//! takes `now`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};

use super::AtLeastOnce;

/// A sequence number in one client's log: 1 for the first event of a new
/// log, then increasing by one per appended event.
pub(crate) type Seq = u64;

/// Events that retention dropped before the client acknowledged them.
///
/// Drops always take the oldest retained events, so everything lost lies
/// below every event the client can still receive: after a gap the client
/// knows that any sequence number up to `last_lost` it has not seen is gone
/// for good, and that nothing after `last_lost` was dropped.
///
/// Several separate drops reported together are merged into one notice:
/// `first_lost..=last_lost` spans them all and `count` says how many events
/// were actually lost. The range may then include events the client did
/// receive and acknowledge between the drops; those are not lost. Each
/// dropped event is reported in exactly one gap, and gaps arrive in
/// increasing, non-overlapping ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Gap {
    /// The lowest sequence number dropped.
    pub first_lost: u64,
    /// The highest sequence number dropped.
    pub last_lost: u64,
    /// How many events in `first_lost..=last_lost` were dropped.
    pub count: u64,
}

impl Gap {
    fn single(seq: Seq) -> Self {
        Self {
            first_lost: seq,
            last_lost: seq,
            count: 1,
        }
    }

    fn extend(&mut self, seq: Seq) {
        self.first_lost = self.first_lost.min(seq);
        self.last_lost = self.last_lost.max(seq);
        self.count += 1;
    }
}

/// An event to put on the wire now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivery<T> {
    /// The event's sequence number; the same on every attempt.
    pub(crate) seq: Seq,
    /// The event.
    pub(crate) item: T,
    /// Whether it was sent before (after an ack deadline, or before the
    /// client went away); the client may already have it.
    pub(crate) redelivered: bool,
    /// 1 for the first send, 2 for the first redelivery, and so on.
    pub(crate) attempt: u32,
}

/// What an acknowledgement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckOutcome {
    /// The event was retained and is now removed for good.
    Acked,
    /// Nothing retained under that number: it was acknowledged already or
    /// dropped by retention. Harmless (duplicate acks are expected).
    NotPending,
    /// That number was never assigned in this log (0, or beyond the last
    /// appended event): the client is confused, e.g. about the epoch.
    Unissued,
}

/// Cumulative counters of one log (or of all logs of a namespace).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LogStats {
    /// Events retained now, waiting for their ack.
    pub(crate) retained: u64,
    /// Events ever appended.
    pub(crate) appended: u64,
    /// Events acknowledged.
    pub(crate) acked: u64,
    /// Sends of an event that had been sent before.
    pub(crate) redelivered: u64,
    /// Events dropped because the log held `max_events`.
    pub(crate) dropped_by_count: u64,
    /// Events dropped because they reached `max_age`.
    pub(crate) dropped_by_age: u64,
    /// Events still retained when their client's log was evicted.
    pub(crate) dropped_by_eviction: u64,
}

impl LogStats {
    /// Events dropped by retention, by count and by age together.
    pub(crate) fn dropped_by_retention(&self) -> u64 {
        self.dropped_by_count + self.dropped_by_age
    }

    /// Adds `other`'s counters to these.
    pub(crate) fn add(&mut self, other: &Self) {
        self.retained += other.retained;
        self.appended += other.appended;
        self.acked += other.acked;
        self.redelivered += other.redelivered;
        self.dropped_by_count += other.dropped_by_count;
        self.dropped_by_age += other.dropped_by_age;
        self.dropped_by_eviction += other.dropped_by_eviction;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DropReason {
    Count,
    Age,
}

#[derive(Debug, Clone, Copy)]
enum SendState {
    /// Waiting to be sent (never sent, or marked again by `attach`).
    Unsent,
    /// Sent; redelivered once `due` passes (`None`: the deadline overflows
    /// `Instant`, so never).
    Sent { due: Option<Instant> },
}

#[derive(Debug)]
struct Entry<T> {
    item: T,
    appended_at: Instant,
    state: SendState,
    attempts: u32,
}

/// One persistent client's log: what it has not acknowledged yet.
///
/// Invariants: entries are keyed by sequence number; every entry below
/// `unsent_from` is `Sent` and every entry at or above it is `Unsent` (sends
/// go in sequence order and `attach` marks everything unsent); `due` holds
/// exactly the `(deadline, seq)` of every `Sent` entry with a deadline.
pub(crate) struct ClientLog<T> {
    ack_deadline: Duration,
    max_events: usize,
    max_age: Duration,
    epoch: u64,
    next_seq: Seq,
    entries: BTreeMap<Seq, Entry<T>>,
    unsent_from: Seq,
    due: BTreeSet<(Instant, Seq)>,
    attached: bool,
    attachment: u64,
    absent_since: Option<Instant>,
    pending_gap: Option<Gap>,
    stats: LogStats,
}

impl<T> fmt::Debug for ClientLog<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientLog")
            .field("epoch", &self.epoch)
            .field("next_seq", &self.next_seq)
            .field("retained", &self.entries.len())
            .field("attached", &self.attached)
            .field("pending_gap", &self.pending_gap)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<T: Clone> ClientLog<T> {
    /// A new, empty and detached log whose first event gets seq 1.
    ///
    /// `epoch` tells this log apart from an earlier one of the same client
    /// (forgotten after its TTL): sequence numbers restart with a new epoch.
    pub(crate) fn new(config: &AtLeastOnce, epoch: u64, now: Instant) -> Self {
        Self {
            ack_deadline: config.ack_deadline(),
            max_events: config.retention().max_events().max(1),
            max_age: config.retention().max_age(),
            epoch,
            next_seq: 1,
            entries: BTreeMap::new(),
            unsent_from: 1,
            due: BTreeSet::new(),
            attached: false,
            attachment: 0,
            absent_since: Some(now),
            pending_gap: None,
            stats: LogStats::default(),
        }
    }

    /// This log's epoch.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Whether the client is here (between `attach` and `detach`).
    pub(crate) fn is_attached(&self) -> bool {
        self.attached
    }

    /// Since when the client has been away (`None` while attached).
    pub(crate) fn absent_since(&self) -> Option<Instant> {
        self.absent_since
    }

    /// How many events wait for their ack.
    pub(crate) fn retained(&self) -> usize {
        self.entries.len()
    }

    /// The sequence number the next appended event gets.
    pub(crate) fn next_seq(&self) -> Seq {
        self.next_seq
    }

    /// This log's counters.
    pub(crate) fn stats(&self) -> LogStats {
        LogStats {
            retained: self.entries.len() as u64,
            ..self.stats
        }
    }

    /// Appends an event for the client and returns its sequence number.
    ///
    /// If the log already holds `max_events`, the oldest retained event is
    /// dropped and recorded in the pending [`Gap`]. The new event is sent by
    /// the next [`take_sendable`](Self::take_sendable) while attached.
    pub(crate) fn append(&mut self, item: T, now: Instant) -> Seq {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.insert(
            seq,
            Entry {
                item,
                appended_at: now,
                state: SendState::Unsent,
                attempts: 0,
            },
        );
        self.stats.appended += 1;
        while self.entries.len() > self.max_events {
            self.drop_oldest(DropReason::Count);
        }
        seq
    }

    /// Acknowledges one event: it is removed and never sent again.
    pub(crate) fn ack(&mut self, seq: Seq) -> AckOutcome {
        if seq == 0 || seq >= self.next_seq {
            return AckOutcome::Unissued;
        }
        match self.entries.remove(&seq) {
            Some(entry) => {
                self.forget_due(seq, &entry);
                self.stats.acked += 1;
                AckOutcome::Acked
            }
            None => AckOutcome::NotPending,
        }
    }

    /// Acknowledges every retained event up to and including `seq` and
    /// returns how many that removed. Numbers beyond the last appended event
    /// are ignored.
    pub(crate) fn ack_through(&mut self, seq: Seq) -> usize {
        let mut removed = 0;
        while let Some(entry) = self.entries.first_entry() {
            if *entry.key() > seq {
                break;
            }
            let (seq, entry) = entry.remove_entry();
            self.forget_due(seq, &entry);
            removed += 1;
        }
        self.stats.acked += removed as u64;
        removed
    }

    /// Moves into `out`, in sequence order, at most `max` events to send now
    /// and returns how many it moved.
    ///
    /// Sendable are the events never sent (or marked again by
    /// [`attach`](Self::attach)) and the sent ones whose ack deadline has
    /// passed; the latter come back with `redelivered: true` and their
    /// original sequence number. Each returned event counts as sent at `now`
    /// and is due again at `now + ack_deadline` unless acknowledged. Nothing
    /// is sendable while detached. Events left over because of `max` stay
    /// sendable for the next call.
    pub(crate) fn take_sendable(
        &mut self,
        now: Instant,
        max: usize,
        out: &mut Vec<Delivery<T>>,
    ) -> usize {
        if !self.attached || max == 0 {
            return 0;
        }
        let before = out.len();

        // Redeliveries first: every due seq is below `unsent_from`, so this
        // keeps the whole batch in sequence order.
        let mut overdue = Vec::new();
        while let Some(&(due, seq)) = self.due.first() {
            if due > now {
                break;
            }
            self.due.pop_first();
            overdue.push((due, seq));
        }
        overdue.sort_unstable_by_key(|&(_, seq)| seq);
        let (now_due, later) = overdue.split_at(overdue.len().min(max));
        self.due.extend(later.iter().copied());
        for &(_, seq) in now_due {
            self.send(seq, now, out);
        }

        // Then what was never sent, in order.
        let room = max.saturating_sub(out.len() - before);
        let mut last_sent = None;
        for (&seq, entry) in self.entries.range_mut(self.unsent_from..).take(room) {
            send_entry(
                seq,
                entry,
                now,
                self.ack_deadline,
                &mut self.due,
                &mut self.stats,
                out,
            );
            last_sent = Some(seq);
        }
        if let Some(last) = last_sent {
            self.unsent_from = last + 1;
        }
        out.len() - before
    }

    /// When the next sent event becomes due for redelivery, if any (`None`
    /// while detached). Lets the caller schedule its next
    /// [`take_sendable`](Self::take_sendable).
    pub(crate) fn next_redelivery_at(&self) -> Option<Instant> {
        if !self.attached {
            return None;
        }
        self.due.first().map(|&(due, _)| due)
    }

    /// Whether events are waiting for their first send (or for a resend after
    /// `attach`). Always false while detached.
    pub(crate) fn has_unsent(&self) -> bool {
        self.attached && self.entries.range(self.unsent_from..).next().is_some()
    }

    /// The client is back (or a new connection replaced the old one).
    ///
    /// Marks every retained event for sending again, in order; those sent
    /// before will be marked `redelivered`. Returns the gap left by
    /// everything retention dropped since the client last heard about one;
    /// send it before the events.
    pub(crate) fn attach(&mut self) -> Option<Gap> {
        self.attached = true;
        self.attachment += 1;
        self.absent_since = None;
        for entry in self.entries.values_mut() {
            entry.state = SendState::Unsent;
        }
        self.due.clear();
        self.unsent_from = self
            .entries
            .first_key_value()
            .map_or(self.next_seq, |(&seq, _)| seq);
        self.pending_gap.take()
    }

    /// The client went away: nothing is sendable until it attaches again.
    /// Events keep being appended, expired and dropped meanwhile.
    pub(crate) fn detach(&mut self, now: Instant) {
        if self.attached {
            self.attached = false;
            self.absent_since = Some(now);
        }
    }

    /// Which attachment is current: increases with every
    /// [`attach`](Self::attach). A connection remembers it after attaching so
    /// that its late [`detach_attachment`](Self::detach_attachment) cannot
    /// detach a newer connection of the same client.
    pub(crate) fn attachment(&self) -> u64 {
        self.attachment
    }

    /// Detaches only if `attachment` is still the current one (the
    /// connection that attached it is the one going away); returns whether
    /// it did.
    pub(crate) fn detach_attachment(&mut self, attachment: u64, now: Instant) -> bool {
        if self.attached && self.attachment == attachment {
            self.detach(now);
            true
        } else {
            false
        }
    }

    /// The gap retention has left since the last notice, while attached;
    /// poll it after [`append`](Self::append) or [`expire`](Self::expire)
    /// and before [`take_sendable`](Self::take_sendable) so it reaches the
    /// client ahead of the events after it. While detached the gap is kept
    /// for [`attach`](Self::attach) and this returns `None`.
    pub(crate) fn take_gap(&mut self) -> Option<Gap> {
        if self.attached {
            self.pending_gap.take()
        } else {
            None
        }
    }

    /// Drops every event whose age has reached `max_age`, oldest first, and
    /// returns how many it dropped. An event is only expired once every
    /// older one is, so drops stay below every retained event even if the
    /// caller's instants went backwards.
    pub(crate) fn expire(&mut self, now: Instant) -> usize {
        let mut dropped = 0;
        while let Some((_, entry)) = self.entries.first_key_value() {
            if now.saturating_duration_since(entry.appended_at) < self.max_age {
                break;
            }
            self.drop_oldest(DropReason::Age);
            dropped += 1;
        }
        dropped
    }

    /// When the oldest retained event reaches `max_age`, if any (`None` too
    /// if that instant is beyond what `Instant` can hold).
    pub(crate) fn next_expiry_at(&self) -> Option<Instant> {
        self.entries
            .first_key_value()
            .and_then(|(_, entry)| entry.appended_at.checked_add(self.max_age))
    }

    /// The sequence numbers retained now, for tests.
    #[cfg(test)]
    pub(crate) fn retained_seqs(&self) -> BTreeSet<Seq> {
        self.entries.keys().copied().collect()
    }

    fn send(&mut self, seq: Seq, now: Instant, out: &mut Vec<Delivery<T>>) {
        if let Some(entry) = self.entries.get_mut(&seq) {
            send_entry(
                seq,
                entry,
                now,
                self.ack_deadline,
                &mut self.due,
                &mut self.stats,
                out,
            );
        }
    }

    fn forget_due(&mut self, seq: Seq, entry: &Entry<T>) {
        if let SendState::Sent { due: Some(due) } = entry.state {
            self.due.remove(&(due, seq));
        }
    }

    fn drop_oldest(&mut self, reason: DropReason) {
        let Some((seq, entry)) = self.entries.pop_first() else {
            return;
        };
        self.forget_due(seq, &entry);
        match &mut self.pending_gap {
            Some(gap) => gap.extend(seq),
            None => self.pending_gap = Some(Gap::single(seq)),
        }
        match reason {
            DropReason::Count => self.stats.dropped_by_count += 1,
            DropReason::Age => self.stats.dropped_by_age += 1,
        }
    }
}

/// Marks `entry` sent at `now`, schedules its redelivery and pushes it to
/// `out` (a free function so the caller can iterate the entries meanwhile).
fn send_entry<T: Clone>(
    seq: Seq,
    entry: &mut Entry<T>,
    now: Instant,
    ack_deadline: Duration,
    due: &mut BTreeSet<(Instant, Seq)>,
    stats: &mut LogStats,
    out: &mut Vec<Delivery<T>>,
) {
    entry.attempts = entry.attempts.saturating_add(1);
    let due_at = now.checked_add(ack_deadline);
    entry.state = SendState::Sent { due: due_at };
    if let Some(due_at) = due_at {
        due.insert((due_at, seq));
    }
    let redelivered = entry.attempts > 1;
    if redelivered {
        stats.redelivered += 1;
    }
    out.push(Delivery {
        seq,
        item: entry.item.clone(),
        redelivered,
        attempt: entry.attempts,
    });
}
