//! The load generator's accounting of lost events: exact, and not fooled by duplicates.

use benches::loadgen::stats::{LossAccount, MemberTally};

#[test]
fn a_member_that_misses_events_is_counted_exactly() {
    let sent = 100;
    let mut members: Vec<MemberTally> = (0..4).map(|_| MemberTally::default()).collect();
    for id in 0..sent {
        for (m, tally) in members.iter_mut().enumerate() {
            // Member 2 misses every tenth event: 10 events.
            if m == 2 && id % 10 == 0 {
                continue;
            }
            tally.record(id, 500 + id);
        }
    }
    let mut account = LossAccount::new(sent, 4);
    for tally in &members {
        account.add(tally);
    }
    assert_eq!(account.expected(), 400);
    assert_eq!(account.delivered(), 390);
    assert_eq!(account.lost(), 10);
    assert_eq!(account.members_short(), 1);
    assert!(!members[2].has_seen(30));
    assert!(members[2].has_seen(31));
}

#[test]
fn a_duplicate_does_not_hide_a_lost_event() {
    let mut tally = MemberTally::default();
    for id in [0, 1, 2, 2, 4] {
        tally.record(id, 100);
    }
    let mut account = LossAccount::new(5, 1);
    account.add(&tally);
    assert_eq!(account.lost(), 1);
    assert_eq!(account.duplicates(), 1);
}

#[test]
fn a_member_that_never_reported_lost_everything() {
    let mut full = MemberTally::default();
    for id in 0..7 {
        full.record(id, 100);
    }
    let mut account = LossAccount::new(7, 2);
    account.add(&full);
    account.add_missing_member();
    assert_eq!(account.lost(), 7);
    assert_eq!(account.members_short(), 1);
}

#[test]
fn warm_up_deliveries_are_not_measured() {
    let mut tally = MemberTally::default();
    assert!(tally.record_unmeasured(0));
    assert!(tally.record(1, 100));
    let mut account = LossAccount::new(1, 1);
    account.add(&tally);
    assert_eq!(account.lost(), 0);
    assert_eq!(account.unmeasured(), 1);
    assert_eq!(account.latency().p50_us, 100);
}
