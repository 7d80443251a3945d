//! An in-process client's handler table, read without a lock by every
//! delivery.
//!
//! The table lives in the socket's shared state (`SocketShared`), next to
//! what a fan-out shard already reads per recipient, so a delivery goes from
//! the room snapshot to the handler in as few memory hops as possible: no
//! client upgrade, no lock, no reference count, no hash map. Registering a
//! handler swaps in an updated copy (copy-on-write, `arc-swap`); readers
//! keep the copy they loaded, so a handler may register handlers, and no
//! registration ever waits for a delivery. Closing takes the table out,
//! which also breaks the cycles of handlers that capture client handles.
//!
//! Owns the table and its lookups; it must not run handlers (`client.rs`
//! does) nor know about queues or shards.

use std::sync::Arc;

use arc_swap::{ArcSwapOption, Guard};
use smallvec::SmallVec;

use crate::ack::AckResponder;
use crate::client::Incoming;
use crate::payload::Payload;
use crate::reason::DisconnectReason;
use crate::reliable::Gap;

/// A typed event handler, wrapped to take the raw payload.
pub(crate) type EventHandler = Arc<dyn Fn(&Payload, Option<AckResponder>) + Send + Sync>;
/// An `on_any` handler.
pub(crate) type AnyHandler = Arc<dyn Fn(&Incoming) + Send + Sync>;
/// An `on_gap` handler.
pub(crate) type GapHandler = Arc<dyn Fn(Gap) + Send + Sync>;
/// An `on_disconnect` handler.
pub(crate) type ReasonHandler = Arc<dyn Fn(DisconnectReason) + Send + Sync>;

/// The longest event name stored inline.
const INLINE_NAME: usize = 22;

/// An event name, inline when short (most are), so matching a delivery's
/// event against the table reads no other allocation.
#[derive(Clone)]
enum Name {
    Inline { len: u8, bytes: [u8; INLINE_NAME] },
    Heap(Box<str>),
}

impl Name {
    fn new(name: &str) -> Self {
        match u8::try_from(name.len()) {
            Ok(len) if name.len() <= INLINE_NAME => {
                let mut bytes = [0; INLINE_NAME];
                bytes[..name.len()].copy_from_slice(name.as_bytes());
                Name::Inline { len, bytes }
            }
            _ => Name::Heap(name.into()),
        }
    }

    fn is(&self, name: &str) -> bool {
        match self {
            Name::Inline { len, bytes } => bytes.get(..usize::from(*len)) == Some(name.as_bytes()),
            Name::Heap(own) => **own == *name,
        }
    }
}

/// One client's handlers. Immutable once published: changes are made on a
/// copy (see [`HandlerTable::update`]). What a delivery reads (`any`,
/// `events`) is inline and first: one allocation, its first lines.
#[derive(Default, Clone)]
#[repr(C)]
pub(crate) struct Handlers {
    pub(crate) any: SmallVec<[AnyHandler; 1]>,
    /// By event name; a client registers a handful, so a scan beats hashing.
    events: SmallVec<[(Name, EventHandler); 2]>,
    pub(crate) gap: Vec<GapHandler>,
    pub(crate) disconnect: Vec<ReasonHandler>,
}

impl Handlers {
    /// The handler of `name`, if one is registered.
    pub(crate) fn event(&self, name: &str) -> Option<&EventHandler> {
        self.events.iter().find(|(n, _)| n.is(name)).map(|(_, h)| h)
    }

    /// Reads what running `name` reads first (the `on_any` list and the
    /// handler's allocation), for [`prepare`](crate::shard): returns a
    /// number only so the reads are not optimised away.
    pub(crate) fn touch(&self, name: &str) -> usize {
        self.any.len() + self.event(name).map_or(0, Arc::strong_count)
    }

    /// Registers `handler` for `name`, replacing an earlier one.
    pub(crate) fn set_event(&mut self, name: &str, handler: EventHandler) {
        match self.events.iter_mut().find(|(n, _)| n.is(name)) {
            Some(entry) => entry.1 = handler,
            None => self.events.push((Name::new(name), handler)),
        }
    }
}

/// A loaded table (see [`HandlerTable::load`]).
pub(crate) type TableGuard = Guard<Option<Arc<Handlers>>>;

/// The published table: `None` before the client is built and once it
/// finished.
#[derive(Default)]
pub(crate) struct HandlerTable(ArcSwapOption<Handlers>);

impl std::fmt::Debug for HandlerTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerTable")
            .field("open", &self.is_open())
            .finish()
    }
}

impl HandlerTable {
    /// Publishes an empty table (the client exists from now on).
    pub(crate) fn open(&self) {
        self.0.store(Some(Arc::new(Handlers::default())));
    }

    /// The current table, without a lock or a reference count; `None` when
    /// the client is not open.
    pub(crate) fn load(&self) -> TableGuard {
        self.0.load()
    }

    /// Applies `change` to a copy of the table and publishes it (retrying if
    /// another registration won the race). Does nothing once closed.
    pub(crate) fn update(&self, change: impl Fn(&mut Handlers)) {
        self.0.rcu(|current| {
            current.as_ref().map(|table| {
                let mut next = Handlers::clone(table);
                change(&mut next);
                Arc::new(next)
            })
        });
    }

    /// Whether the table is published (the client built and not finished).
    pub(crate) fn is_open(&self) -> bool {
        self.0.load().is_some()
    }

    /// Takes the table out: no handler runs from a later load. Returns it
    /// to the one caller that took it.
    pub(crate) fn close(&self) -> Option<Arc<Handlers>> {
        self.0.swap(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop() -> EventHandler {
        Arc::new(|_, _| {})
    }

    #[test]
    fn a_closed_table_ignores_registrations() {
        let table = HandlerTable::default();
        table.update(|h| h.set_event("a", noop()));
        assert!(table.load().is_none());
        table.open();
        table.update(|h| h.set_event("a", noop()));
        assert!(table
            .load()
            .as_ref()
            .is_some_and(|h| h.event("a").is_some()));
        assert!(table.close().is_some());
        table.update(|h| h.set_event("b", noop()));
        assert!(table.load().is_none());
    }

    #[test]
    fn registering_a_name_again_replaces_its_handler() {
        let mut h = Handlers::default();
        h.set_event("tick", noop());
        let second = noop();
        h.set_event("tick", second.clone());
        assert_eq!(h.events.len(), 1);
        assert!(h.event("tick").is_some_and(|e| Arc::ptr_eq(e, &second)));
        assert!(h.event("tic").is_none());
    }

    #[test]
    fn long_and_short_names_match_only_themselves() {
        let mut h = Handlers::default();
        let long = "an-event-name-longer-than-the-inline-limit";
        h.set_event(long, noop());
        h.set_event("", noop());
        h.set_event("exactly-22-bytes-long!", noop());
        assert!(h.event(long).is_some());
        assert!(h.event(&long[..long.len() - 1]).is_none());
        assert!(h.event("").is_some());
        assert!(h.event("exactly-22-bytes-long!").is_some());
        assert!(h.event("exactly-22-bytes-long").is_none());
        assert_eq!(h.events.len(), 3);
    }

    #[test]
    fn a_loaded_table_stays_valid_while_a_copy_is_published() {
        let table = HandlerTable::default();
        table.open();
        let before = table.load();
        table.update(|h| h.set_event("late", noop()));
        assert!(before.as_ref().is_some_and(|h| h.event("late").is_none()));
        assert!(table
            .load()
            .as_ref()
            .is_some_and(|h| h.event("late").is_some()));
    }
}
