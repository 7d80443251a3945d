//! Behaviour of the at-least-once state machine, with instants made up by the
//! tests (no waiting).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::{AckOutcome, AtLeastOnce, ClientLog, ClientLogs, Delivery, Gap, Retention, Seq};

const DEADLINE: Duration = Duration::from_secs(5);

fn config(max_events: usize, max_age: Duration) -> AtLeastOnce {
    AtLeastOnce::new()
        .with_ack_deadline(DEADLINE)
        .with_retention(
            Retention::new()
                .with_max_events(max_events)
                .with_max_age(max_age),
        )
}

fn attached_log(now: Instant) -> ClientLog<&'static str> {
    let mut log = ClientLog::new(&config(100, Duration::from_secs(600)), 7, now);
    assert_eq!(log.attach(), None);
    log
}

fn take<T: Clone>(log: &mut ClientLog<T>, now: Instant) -> Vec<Delivery<T>> {
    let mut out = Vec::new();
    log.take_sendable(now, usize::MAX, &mut out);
    out
}

fn seqs<T>(batch: &[Delivery<T>]) -> Vec<Seq> {
    batch.iter().map(|d| d.seq).collect()
}

fn redelivered<T>(batch: &[Delivery<T>]) -> Vec<bool> {
    batch.iter().map(|d| d.redelivered).collect()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn events_are_delivered_once_in_order_with_seqs_from_one() {
    let t0 = Instant::now();
    let mut log = attached_log(t0);
    assert_eq!(log.append("a", t0), 1);
    assert_eq!(log.append("b", t0), 2);
    assert_eq!(log.append("c", t0), 3);

    let batch = take(&mut log, t0);
    assert_eq!(seqs(&batch), [1, 2, 3]);
    assert_eq!(
        batch.iter().map(|d| d.item).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(redelivered(&batch), [false, false, false]);
    assert!(batch.iter().all(|d| d.attempt == 1));
    assert!(take(&mut log, t0 + secs(1)).is_empty());
    assert!(!log.has_unsent());
}

#[test]
fn an_acknowledged_event_is_never_redelivered() {
    let t0 = Instant::now();
    let mut log = attached_log(t0);
    let seq = log.append("a", t0);
    take(&mut log, t0);
    assert_eq!(log.ack(seq), AckOutcome::Acked);
    assert_eq!(log.retained(), 0);

    assert!(take(&mut log, t0 + DEADLINE * 10).is_empty());
    log.detach(t0 + secs(1));
    log.attach();
    assert!(take(&mut log, t0 + DEADLINE * 20).is_empty());
    assert_eq!(log.next_redelivery_at(), None);
}

#[test]
fn an_unacknowledged_event_is_redelivered_after_its_deadline_marked_with_the_same_seq() {
    let t0 = Instant::now();
    let mut log = attached_log(t0);
    log.append("a", t0);
    log.append("b", t0);
    take(&mut log, t0);
    assert_eq!(log.next_redelivery_at(), Some(t0 + DEADLINE));

    assert!(take(&mut log, t0 + DEADLINE - Duration::from_millis(1)).is_empty());

    log.ack(1);
    let batch = take(&mut log, t0 + DEADLINE);
    assert_eq!(seqs(&batch), [2]);
    assert_eq!(batch[0].item, "b");
    assert!(batch[0].redelivered);
    assert_eq!(batch[0].attempt, 2);
    assert_eq!(log.stats().redelivered, 1);

    // The deadline restarts from the redelivery.
    assert!(take(&mut log, t0 + DEADLINE + secs(1)).is_empty());
    let again = take(&mut log, t0 + DEADLINE * 2);
    assert_eq!(seqs(&again), [2]);
    assert_eq!(again[0].attempt, 3);
}

#[test]
fn overdue_redeliveries_come_in_seq_order_before_new_events() {
    let t0 = Instant::now();
    let mut log = attached_log(t0);
    log.append("a", t0);
    take(&mut log, t0);
    log.append("b", t0 + secs(1));
    take(&mut log, t0 + secs(1));
    log.append("c", t0 + secs(2));

    // Both overdue, due at different instants; "c" never sent.
    let batch = take(&mut log, t0 + secs(10));
    assert_eq!(seqs(&batch), [1, 2, 3]);
    assert_eq!(redelivered(&batch), [true, true, false]);
}

#[test]
fn a_batch_limit_leaves_the_rest_sendable_in_order() {
    let t0 = Instant::now();
    let mut log = attached_log(t0);
    for item in ["a", "b", "c", "d", "e"] {
        log.append(item, t0);
    }
    let mut out = Vec::new();
    assert_eq!(log.take_sendable(t0, 2, &mut out), 2);
    assert_eq!(log.take_sendable(t0, 0, &mut out), 0);
    assert_eq!(log.take_sendable(t0, 2, &mut out), 2);
    assert_eq!(seqs(&out), [1, 2, 3, 4]);

    // 1..=4 overdue, 5 unsent: a limit of 3 takes the three lowest.
    out.clear();
    assert_eq!(log.take_sendable(t0 + DEADLINE, 3, &mut out), 3);
    assert_eq!(seqs(&out), [1, 2, 3]);
    out.clear();
    log.take_sendable(t0 + DEADLINE, 10, &mut out);
    assert_eq!(seqs(&out), [4, 5]);
    assert_eq!(redelivered(&out), [true, false]);
}

#[test]
fn nothing_is_sendable_while_detached() {
    let t0 = Instant::now();
    let mut log = attached_log(t0);
    log.append("a", t0);
    take(&mut log, t0);
    log.detach(t0 + secs(1));
    log.append("b", t0 + secs(1));

    assert!(!log.is_attached());
    assert_eq!(log.absent_since(), Some(t0 + secs(1)));
    assert!(take(&mut log, t0 + DEADLINE * 10).is_empty());
    assert!(!log.has_unsent());
    assert_eq!(log.next_redelivery_at(), None);
    assert_eq!(log.retained(), 2);
}

#[test]
fn attaching_again_redelivers_everything_unacknowledged_in_order() {
    let t0 = Instant::now();
    let mut log = attached_log(t0);
    for item in ["a", "b", "c"] {
        log.append(item, t0);
    }
    take(&mut log, t0);
    log.ack(2);
    log.detach(t0 + secs(1));
    log.append("d", t0 + secs(2));

    assert_eq!(log.attach(), None);
    assert_eq!(log.absent_since(), None);
    // Attaching is immediate: no need to wait for the ack deadline.
    let batch = take(&mut log, t0 + secs(3));
    assert_eq!(seqs(&batch), [1, 3, 4]);
    assert_eq!(redelivered(&batch), [true, true, false]);
    assert!(take(&mut log, t0 + secs(3)).is_empty());
}

#[test]
fn a_new_connection_replacing_an_attached_one_gets_everything_unacknowledged() {
    let t0 = Instant::now();
    let mut log = attached_log(t0);
    log.append("a", t0);
    take(&mut log, t0);
    log.attach();
    let batch = take(&mut log, t0);
    assert_eq!(seqs(&batch), [1]);
    assert!(batch[0].redelivered);
}

#[test]
fn an_old_connection_going_away_does_not_detach_the_new_one() {
    let t0 = Instant::now();
    let mut log = attached_log(t0);
    let old = log.attachment();
    log.attach();
    let new = log.attachment();
    assert_ne!(old, new);

    assert!(!log.detach_attachment(old, t0));
    assert!(log.is_attached());
    assert!(log.detach_attachment(new, t0));
    assert!(!log.is_attached());
    assert!(!log.detach_attachment(new, t0));
}

#[test]
fn a_client_disconnected_mid_stream_gets_every_event_in_order_duplicating_only_unacknowledged() {
    let t0 = Instant::now();
    let mut log = attached_log(t0);
    let mut received: Vec<(Seq, bool)> = Vec::new();
    for i in 0..10 {
        log.append("e", t0);
        for d in take(&mut log, t0) {
            received.push((d.seq, d.redelivered));
            // The client acknowledges only even seqs before it drops.
            if i < 6 && d.seq % 2 == 0 {
                log.ack(d.seq);
            }
        }
        if i == 5 {
            log.detach(t0);
        }
    }
    log.attach();
    for d in take(&mut log, t0 + secs(1)) {
        received.push((d.seq, d.redelivered));
        log.ack(d.seq);
    }

    let mut seen = BTreeSet::new();
    let mut duplicates = Vec::new();
    for &(seq, was_redelivered) in &received {
        if !seen.insert(seq) {
            assert!(was_redelivered, "a duplicate of {seq} was not marked");
            duplicates.push(seq);
        }
    }
    assert_eq!(seen, (1..=10).collect());
    assert_eq!(duplicates, [1, 3, 5]);
    // Events appended while away arrive once, in order, after the resends.
    let after_attach: Vec<Seq> = received[6..].iter().map(|&(seq, _)| seq).collect();
    assert_eq!(after_attach, [1, 3, 5, 7, 8, 9, 10]);
    assert_eq!(log.retained(), 0);
}

#[test]
fn acking_out_of_order_removes_only_the_acknowledged_events() {
    let t0 = Instant::now();
    let mut log = attached_log(t0);
    for item in ["a", "b", "c", "d"] {
        log.append(item, t0);
    }
    take(&mut log, t0);
    assert_eq!(log.ack(3), AckOutcome::Acked);
    assert_eq!(log.ack(1), AckOutcome::Acked);

    let batch = take(&mut log, t0 + DEADLINE);
    assert_eq!(seqs(&batch), [2, 4]);
    assert_eq!(log.stats().acked, 2);
    assert_eq!(log.stats().retained, 2);
}

#[test]
fn acking_twice_or_an_unissued_seq_is_harmless_and_reported() {
    let t0 = Instant::now();
    let mut log = attached_log(t0);
    log.append("a", t0);
    log.append("b", t0);
    assert_eq!(log.ack(1), AckOutcome::Acked);
    assert_eq!(log.ack(1), AckOutcome::NotPending);
    assert_eq!(log.ack(0), AckOutcome::Unissued);
    assert_eq!(log.ack(3), AckOutcome::Unissued);
    assert_eq!(log.ack(u64::MAX), AckOutcome::Unissued);
    assert_eq!(log.retained(), 1);
    assert_eq!(log.stats().acked, 1);
    assert_eq!(seqs(&take(&mut log, t0)), [2]);
}

#[test]
fn ack_through_acknowledges_cumulatively() {
    let t0 = Instant::now();
    let mut log = attached_log(t0);
    for item in ["a", "b", "c", "d", "e"] {
        log.append(item, t0);
    }
    take(&mut log, t0);
    log.ack(2);
    assert_eq!(log.ack_through(4), 3);
    assert_eq!(log.ack_through(4), 0);
    assert_eq!(log.stats().acked, 4);
    assert_eq!(seqs(&take(&mut log, t0 + DEADLINE)), [5]);
    assert_eq!(log.ack_through(u64::MAX), 1);
    assert_eq!(log.retained(), 0);
    assert_eq!(log.next_redelivery_at(), None);
}

#[test]
fn retention_by_count_drops_the_oldest_and_reports_one_gap_on_attach_exactly_once() {
    let t0 = Instant::now();
    let mut log = ClientLog::new(&config(3, secs(600)), 1, t0);
    for i in 0..5 {
        log.append(i, t0);
    }
    assert_eq!(log.retained(), 3);
    assert_eq!(log.stats().dropped_by_count, 2);
    assert_eq!(log.take_gap(), None, "a detached client hears on attach");

    let gap = log.attach();
    assert_eq!(
        gap,
        Some(Gap {
            first_lost: 1,
            last_lost: 2,
            count: 2
        })
    );
    assert_eq!(seqs(&take(&mut log, t0)), [3, 4, 5]);
    assert_eq!(log.take_gap(), None);
    log.detach(t0);
    assert_eq!(log.attach(), None);
}

#[test]
fn retention_by_age_drops_old_events_and_reports_one_gap() {
    let t0 = Instant::now();
    let mut log = ClientLog::new(&config(100, secs(60)), 1, t0);
    log.append("old", t0);
    log.append("older-ish", t0 + secs(10));
    log.append("new", t0 + secs(50));
    assert_eq!(log.next_expiry_at(), Some(t0 + secs(60)));

    assert_eq!(log.expire(t0 + secs(59)), 0);
    assert_eq!(log.expire(t0 + secs(70)), 2);
    assert_eq!(log.stats().dropped_by_age, 2);
    assert_eq!(log.stats().dropped_by_retention(), 2);
    assert_eq!(log.next_expiry_at(), Some(t0 + secs(110)));

    assert_eq!(
        log.attach(),
        Some(Gap {
            first_lost: 1,
            last_lost: 2,
            count: 2
        })
    );
    assert_eq!(log.take_gap(), None);
    let batch = take(&mut log, t0 + secs(70));
    assert_eq!(seqs(&batch), [3]);
}

#[test]
fn expiry_never_skips_over_a_younger_older_event() {
    // Instants that go backwards must not expire an event above a retained one.
    let t0 = Instant::now();
    let mut log = ClientLog::new(&config(100, secs(60)), 1, t0);
    log.append("a", t0 + secs(30));
    log.append("b", t0);
    assert_eq!(log.expire(t0 + secs(80)), 0);
    assert_eq!(log.expire(t0 + secs(90)), 2);
}

#[test]
fn an_attached_client_is_told_of_a_gap_as_soon_as_it_polls() {
    let t0 = Instant::now();
    let mut log = ClientLog::new(&config(2, secs(600)), 1, t0);
    log.attach();
    log.append("a", t0);
    log.append("b", t0);
    assert_eq!(log.take_gap(), None);
    log.append("c", t0);
    assert_eq!(
        log.take_gap(),
        Some(Gap {
            first_lost: 1,
            last_lost: 1,
            count: 1
        })
    );
    assert_eq!(log.take_gap(), None);
    assert_eq!(seqs(&take(&mut log, t0)), [2, 3]);
}

#[test]
fn separate_drops_are_merged_into_one_range_with_the_exact_count() {
    let t0 = Instant::now();
    let mut log = ClientLog::new(&config(2, secs(600)), 1, t0);
    log.append("1", t0);
    log.append("2", t0);
    log.append("3", t0); // drops 1
    log.ack(2); // the client got 2 before going away
    log.append("4", t0);
    log.append("5", t0); // drops 3
    assert_eq!(
        log.attach(),
        Some(Gap {
            first_lost: 1,
            last_lost: 3,
            count: 2
        })
    );
    assert_eq!(seqs(&take(&mut log, t0)), [4, 5]);
}

#[test]
fn a_dropped_event_that_was_sent_is_neither_redelivered_nor_ackable() {
    let t0 = Instant::now();
    let mut log = ClientLog::new(&config(1, secs(600)), 1, t0);
    log.attach();
    log.append("a", t0);
    take(&mut log, t0);
    log.append("b", t0);
    assert_eq!(log.ack(1), AckOutcome::NotPending);
    let batch = take(&mut log, t0 + DEADLINE);
    assert_eq!(seqs(&batch), [2]);
    assert!(!batch[0].redelivered);
    assert_eq!(log.stats().acked, 0);
}

#[test]
fn counters_add_up() {
    let t0 = Instant::now();
    let mut log = ClientLog::new(&config(3, secs(60)), 1, t0);
    log.attach();
    for i in 0..4 {
        log.append(i, t0);
    }
    take(&mut log, t0);
    log.ack(2);
    take(&mut log, t0 + DEADLINE);
    log.expire(t0 + secs(60));
    let stats = log.stats();
    assert_eq!(stats.appended, 4);
    assert_eq!(stats.acked, 1);
    assert_eq!(stats.redelivered, 2);
    assert_eq!(stats.dropped_by_count, 1);
    assert_eq!(stats.dropped_by_age, 2);
    assert_eq!(stats.retained, 0);
}

#[test]
fn huge_durations_never_overflow() {
    let t0 = Instant::now();
    let cfg = AtLeastOnce::new()
        .with_ack_deadline(Duration::MAX)
        .with_retention(Retention::new().with_max_age(Duration::MAX));
    let mut log = ClientLog::new(&cfg, 1, t0);
    log.attach();
    log.append("a", t0);
    assert_eq!(seqs(&take(&mut log, t0)), [1]);
    assert_eq!(log.next_redelivery_at(), None);
    assert_eq!(log.next_expiry_at(), None);
    assert!(take(&mut log, t0 + secs(1_000_000)).is_empty());
    assert_eq!(log.expire(t0 + secs(1_000_000)), 0);
    assert_eq!(log.ack(1), AckOutcome::Acked);
}

#[test]
fn retention_settings_default_and_clamp() {
    let retention = Retention::default();
    assert_eq!(retention.max_events(), Retention::DEFAULT_MAX_EVENTS);
    assert_eq!(retention.max_age(), Retention::DEFAULT_MAX_AGE);
    assert_eq!(Retention::new().with_max_events(0).max_events(), 1);

    let cfg = AtLeastOnce::default()
        .with_ack_deadline(secs(2))
        .with_client_ttl(secs(3))
        .with_retention(Retention::new().with_max_events(4));
    assert_eq!(cfg.ack_deadline(), secs(2));
    assert_eq!(cfg.client_ttl(), secs(3));
    assert_eq!(cfg.retention().max_events(), 4);
    assert_eq!(
        AtLeastOnce::new().ack_deadline(),
        AtLeastOnce::DEFAULT_ACK_DEADLINE
    );
}

#[test]
fn the_registry_keeps_one_log_per_client_with_distinct_epochs() {
    let t0 = Instant::now();
    let mut logs: ClientLogs<u8> = ClientLogs::with_epoch_seed(config(10, secs(60)), 40);
    assert!(logs.is_empty());
    logs.get_or_create("alice", t0).append(1, t0);
    logs.get_or_create("alice", t0).append(2, t0);
    logs.get_or_create("bob", t0).append(3, t0);

    assert_eq!(logs.len(), 2);
    assert_eq!(logs.get("alice").map(ClientLog::retained), Some(2));
    assert_eq!(logs.get("alice").map(ClientLog::epoch), Some(40));
    assert_eq!(logs.get("bob").map(ClientLog::epoch), Some(41));
    assert_eq!(logs.get("bob").map(ClientLog::next_seq), Some(2));
    assert!(logs.get("carol").is_none());
    assert_eq!(logs.config().retention().max_events(), 10);

    assert_eq!(logs.expire_all(t0 + secs(60)), 3);
    assert_eq!(logs.stats().dropped_by_age, 3);
}

#[test]
fn logs_of_clients_absent_past_the_ttl_are_evicted_and_their_counters_kept() {
    let t0 = Instant::now();
    let cfg = config(10, secs(600)).with_client_ttl(secs(100));
    let mut logs: ClientLogs<u8> = ClientLogs::with_epoch_seed(cfg, 0);
    let here = logs.get_or_create("here", t0);
    here.attach();
    here.append(1, t0);
    let away = logs.get_or_create("away", t0);
    away.attach();
    away.append(1, t0);
    away.append(2, t0);
    away.ack(1);
    away.detach(t0 + secs(10));
    logs.get_or_create("never-attached", t0);

    // Absent since it was made, at t0: past the TTL first.
    assert_eq!(logs.evict_absent(t0 + secs(109)), ["never-attached"]);
    let mut gone = logs.evict_absent(t0 + secs(110));
    gone.sort();
    assert_eq!(gone, ["away"]);
    assert!(logs.get("never-attached").is_none());
    assert!(logs.get("here").is_some());

    let stats = logs.stats();
    assert_eq!(stats.appended, 3);
    assert_eq!(stats.acked, 1);
    assert_eq!(stats.retained, 1);
    assert_eq!(stats.dropped_by_eviction, 1);

    // A returning client starts a new log under a new epoch.
    let back = logs.get_or_create("away", t0 + secs(200));
    assert_eq!(back.next_seq(), 1);
    assert_eq!(back.epoch(), 3);
    assert!(logs.remove("here").is_some());
    assert_eq!(logs.stats().dropped_by_eviction, 2);
    assert_eq!(logs.iter_mut().count(), 1);
}

/// A deterministic pseudo-random source (Knuth's MMIX LCG).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

/// What the client (and the test) know, checked against the log.
#[derive(Default)]
struct Model {
    acked: BTreeSet<Seq>,
    lost: BTreeSet<Seq>,
    delivered: BTreeSet<Seq>,
    last_gap_end: Seq,
}

impl Model {
    fn gap(&mut self, gap: Gap, log: &ClientLog<u64>) {
        assert!(gap.first_lost > self.last_gap_end, "gaps overlap: {gap:?}");
        assert!(gap.first_lost <= gap.last_lost);
        let lost: Vec<Seq> = (gap.first_lost..=gap.last_lost)
            .filter(|seq| !self.acked.contains(seq))
            .collect();
        assert_eq!(gap.count, lost.len() as u64, "{gap:?}");
        let retained = log.retained_seqs();
        for seq in lost {
            assert!(!retained.contains(&seq), "{seq} reported lost but retained");
            assert!(self.lost.insert(seq), "{seq} reported lost twice");
        }
        assert!(retained.iter().all(|&seq| seq > gap.last_lost));
        self.last_gap_end = gap.last_lost;
    }

    fn ack(&mut self, log: &mut ClientLog<u64>, seq: Seq) {
        let retained = log.retained_seqs().contains(&seq);
        let outcome = log.ack(seq);
        if retained {
            assert_eq!(outcome, AckOutcome::Acked);
            assert!(self.acked.insert(seq));
        } else if seq == 0 || seq >= log.next_seq() {
            assert_eq!(outcome, AckOutcome::Unissued);
        } else {
            assert_eq!(outcome, AckOutcome::NotPending);
        }
    }

    fn check(&self, log: &ClientLog<u64>) {
        let retained = log.retained_seqs();
        for seq in &retained {
            assert!(!self.acked.contains(seq) && !self.lost.contains(seq));
        }
        assert!(self.acked.is_disjoint(&self.lost));
        assert_eq!(log.stats().retained, retained.len() as u64);
        assert_eq!(log.stats().acked, self.acked.len() as u64);
    }
}

#[test]
fn every_appended_event_is_acknowledged_retained_or_reported_lost_exactly_once() {
    for seed in 0..40 {
        let mut rng = Lcg(seed);
        let t0 = Instant::now();
        let mut now = t0;
        let cfg = config(1 + rng.below(12) as usize, secs(5 + rng.below(40)));
        let mut log: ClientLog<u64> = ClientLog::new(&cfg, seed, t0);
        let mut model = Model::default();
        let mut out = Vec::new();

        for _ in 0..2_000 {
            match rng.below(20) {
                0..=6 => {
                    let seq = log.append(log.next_seq() * 10, now);
                    assert_eq!(seq, log.stats().appended);
                }
                7..=10 => {
                    out.clear();
                    let max = 1 + rng.below(6) as usize;
                    log.take_sendable(now, max, &mut out);
                    assert!(out.len() <= max);
                    assert!(out.windows(2).all(|w| w[0].seq < w[1].seq));
                    for d in &out {
                        assert_eq!(d.item, d.seq * 10);
                        assert!(!model.acked.contains(&d.seq) && !model.lost.contains(&d.seq));
                        // Only what the client may already have comes marked.
                        assert_eq!(d.redelivered, model.delivered.contains(&d.seq));
                        model.delivered.insert(d.seq);
                        if rng.below(3) > 0 {
                            model.ack(&mut log, d.seq);
                        }
                    }
                }
                11 => {
                    let seq = rng.below(log.next_seq() + 2);
                    model.ack(&mut log, seq);
                }
                12 => {
                    if let Some(&through) = model.delivered.last() {
                        let retained = log.retained_seqs();
                        let expect: Vec<Seq> = retained.range(..=through).copied().collect();
                        assert_eq!(log.ack_through(through), expect.len());
                        model.acked.extend(expect);
                    }
                }
                13 => log.detach(now),
                14 => {
                    if let Some(gap) = log.attach() {
                        model.gap(gap, &log);
                    }
                    // Everything retained is sendable again, in order.
                    let batch = take(&mut log, now);
                    assert_eq!(
                        seqs(&batch),
                        log.retained_seqs().into_iter().collect::<Vec<_>>()
                    );
                    for d in batch {
                        assert_eq!(d.redelivered, model.delivered.contains(&d.seq));
                        model.delivered.insert(d.seq);
                    }
                }
                15 => {
                    log.expire(now);
                }
                16 => {
                    let gap = log.take_gap();
                    if !log.is_attached() {
                        assert_eq!(gap, None);
                    }
                    if let Some(gap) = gap {
                        model.gap(gap, &log);
                    }
                }
                _ => now += Duration::from_millis(rng.below(4_000)),
            }
            model.check(&log);
        }

        if let Some(gap) = log.attach() {
            model.gap(gap, &log);
        }
        if let Some(gap) = log.take_gap() {
            model.gap(gap, &log);
        }
        let retained = log.retained_seqs();
        for seq in 1..log.next_seq() {
            let places = [
                model.acked.contains(&seq),
                retained.contains(&seq),
                model.lost.contains(&seq),
            ];
            assert_eq!(
                places.iter().filter(|&&p| p).count(),
                1,
                "seed {seed}: seq {seq} is in {places:?} (acked, retained, lost)"
            );
        }
        let stats = log.stats();
        assert_eq!(stats.appended, log.next_seq() - 1);
        assert_eq!(stats.dropped_by_retention(), model.lost.len() as u64);
    }
}
