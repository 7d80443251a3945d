//! The settings a user chooses for at-least-once delivery.
//!
//! Owns [`Retention`] and [`AtLeastOnce`]; it must not hold any state about
//! clients or events.

use std::time::Duration;

/// How much a client's log keeps while events wait for acknowledgement.
///
/// Retention is bounded two ways: by count (appending beyond
/// [`max_events`](Retention::max_events) drops the oldest unacknowledged
/// event) and by age (an event whose age reaches
/// [`max_age`](Retention::max_age) is dropped). Every drop is counted and
/// reported to the client as a [`Gap`](super::Gap), so a client never
/// believes it has everything when it does not.
///
/// The defaults keep 10 000 events for at most 10 minutes per client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    max_events: usize,
    max_age: Duration,
}

impl Retention {
    /// The number of events a client's log keeps by default.
    pub const DEFAULT_MAX_EVENTS: usize = 10_000;
    /// How long an unacknowledged event is kept by default.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(10 * 60);

    /// Retention with the defaults: 10 000 events, 10 minutes.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            max_events: Self::DEFAULT_MAX_EVENTS,
            max_age: Self::DEFAULT_MAX_AGE,
        }
    }

    /// Keeps at most `max_events` unacknowledged events per client; a value
    /// of 0 is treated as 1 (the event just appended is always kept).
    #[must_use]
    pub const fn with_max_events(mut self, max_events: usize) -> Self {
        self.max_events = if max_events == 0 { 1 } else { max_events };
        self
    }

    /// Drops an unacknowledged event once its age reaches `max_age`.
    /// `Duration::MAX` in effect disables the age bound.
    #[must_use]
    pub const fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The most unacknowledged events a client's log keeps.
    #[must_use]
    pub const fn max_events(&self) -> usize {
        self.max_events
    }

    /// The age at which an unacknowledged event is dropped.
    #[must_use]
    pub const fn max_age(&self) -> Duration {
        self.max_age
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self::new()
    }
}

/// At-least-once delivery settings for a namespace (opt-in).
///
/// A client that connects with a persistent client id gets every event in
/// order, each with a sequence number, until it acknowledges it. An event
/// sent but not acknowledged within [`ack_deadline`](AtLeastOnce::ack_deadline)
/// is sent again, marked as redelivered and with the same sequence number;
/// everything unacknowledged is sent again when the client comes back.
/// Retention bounds what is kept (see [`Retention`]); the log of a client
/// absent for longer than [`client_ttl`](AtLeastOnce::client_ttl) is
/// forgotten, and if the client returns it gets a new log with a new epoch.
///
/// Defaults: a 30 second ack deadline, [`Retention::new`], a one hour TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtLeastOnce {
    ack_deadline: Duration,
    retention: Retention,
    client_ttl: Duration,
}

impl AtLeastOnce {
    /// How long a sent event waits for its ack by default before redelivery.
    pub const DEFAULT_ACK_DEADLINE: Duration = Duration::from_secs(30);
    /// How long the log of an absent client is kept by default.
    pub const DEFAULT_CLIENT_TTL: Duration = Duration::from_secs(60 * 60);

    /// At-least-once delivery with the defaults.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            ack_deadline: Self::DEFAULT_ACK_DEADLINE,
            retention: Retention::new(),
            client_ttl: Self::DEFAULT_CLIENT_TTL,
        }
    }

    /// Redelivers a sent event that is still unacknowledged after
    /// `ack_deadline`. A zero deadline makes every sent event due again at
    /// once, so keep it above the client's round-trip time.
    #[must_use]
    pub const fn with_ack_deadline(mut self, ack_deadline: Duration) -> Self {
        self.ack_deadline = ack_deadline;
        self
    }

    /// Bounds what each client's log keeps.
    #[must_use]
    pub const fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Forgets the log of a client that has been away for `client_ttl`.
    #[must_use]
    pub const fn with_client_ttl(mut self, client_ttl: Duration) -> Self {
        self.client_ttl = client_ttl;
        self
    }

    /// How long a sent event waits for its ack before it is sent again.
    #[must_use]
    pub const fn ack_deadline(&self) -> Duration {
        self.ack_deadline
    }

    /// What each client's log keeps.
    #[must_use]
    pub const fn retention(&self) -> Retention {
        self.retention
    }

    /// How long the log of an absent client is kept.
    #[must_use]
    pub const fn client_ttl(&self) -> Duration {
        self.client_ttl
    }
}

impl Default for AtLeastOnce {
    fn default() -> Self {
        Self::new()
    }
}
