//! Dispatchers: one actor per bus worker thread that runs the handlers of
//! the in-process clients assigned to it.
//!
//! A client's outbound queue wakes its consumer once per batch (the queue's
//! `scheduled` flag). For an in-process client that wake puts the client on
//! its dispatcher's *ready list*; only the wake that finds the list idle
//! sends the dispatcher actor one `Run` message. The dispatcher then takes
//! the whole list at once and, for each ready client, drains its queue and
//! runs its handlers. So a broadcast to N clients costs at most one actor
//! message per worker (not one per client) while the namespace keeps
//! pushing on its own thread, and a client already on the list is not woken
//! again.
//!
//! The ready list is bounded by the number of clients of the dispatcher:
//! a client is put on it only by the wake that sets its queue's `scheduled`
//! flag, and that flag is cleared only by the drain that takes it off.
//!
//! Each dispatcher is also its worker's **fan-out shard**: the namespace
//! hands it one `Deliver` per broadcast (the in-process recipients whose
//! dispatcher it is), and its handler pushes to and runs those clients in
//! the same pass (`shard.rs`); the ready list then serves wakes from
//! elsewhere (acks queued by socket actors, at-least-once pushes, a
//! client's queue left non-empty by a slow batch).
//!
//! Owns the ready list, the client registry and the dispatcher actor; it
//! must not know what a client does with its batch (`client.rs` does) nor
//! who a broadcast targets (the namespace decides).

use std::cell::RefCell;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use actix::prelude::ArbiterHandle;
use actix::{Actor, AsyncContext, Context, Handler, Message};

use crate::queue::Outbound;
use crate::shard::{Deliver, Relay};

/// Something a dispatcher runs when it is ready: drain a queue, run handlers.
pub(crate) trait Ready: Send + Sync {
    /// Drains one batch into `scratch` (appending) and handles it. The
    /// dispatcher drops what is in `scratch` later, many batches at once.
    fn run(&self, scratch: &mut Vec<Outbound>);
}

/// Clients handled per `Run` before the dispatcher yields its thread to
/// the other actors there (it re-sends itself `Run` to continue).
const BUDGET: usize = 4096;

/// Handled items kept before they are dropped together.
pub(crate) const SCRATCH: usize = 4096;

/// Broadcasts (shard parts) a dispatcher may have queued before the
/// namespace treats its recipients' queues as full.
pub(crate) const SHARD_MAILBOX: usize = 4096;

/// A client's place in its dispatcher's registry (what wakers push).
pub(crate) type Slot = usize;

#[derive(Default)]
struct ReadyList {
    items: Vec<Slot>,
    /// A `Run` is outstanding (sent and not yet finished).
    scheduled: bool,
}

/// The dispatcher's clients, held weakly: dropping every handle of a
/// client still ends it. A freed slot may be reused while a stale ready
/// entry names it; the new client then gets a spurious, harmless run.
#[derive(Default)]
struct Registry {
    clients: Vec<Option<Weak<dyn Ready>>>,
    free: Vec<Slot>,
}

/// The handle wakers use to put a client on the ready list.
///
/// The ready list holds slot numbers rather than client pointers, so a
/// wake on the fan-out thread touches nothing of the client itself (no
/// reference count moving between cores once per delivery).
pub(crate) struct Dispatcher {
    /// This dispatcher's shard number (its place in the runtime's list).
    index: usize,
    list: Mutex<ReadyList>,
    registry: Mutex<Registry>,
    addr: OnceLock<actix::Addr<DispatcherActor>>,
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher").finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// Starts a dispatcher actor on `arbiter`.
    pub(crate) fn start(arbiter: &ArbiterHandle, index: usize) -> Arc<Dispatcher> {
        let shared = Arc::new(Dispatcher {
            index,
            list: Mutex::new(ReadyList::default()),
            registry: Mutex::new(Registry::default()),
            addr: OnceLock::new(),
        });
        let actor_shared = shared.clone();
        let addr = DispatcherActor::start_in_arbiter(
            arbiter,
            move |ctx: &mut Context<DispatcherActor>| {
                // At most one `Run` is in the mailbox (the `scheduled` flag);
                // continuing after the budget uses `notify`, not the mailbox.
                // The rest are broadcasts' shard parts (`Deliver`).
                ctx.set_mailbox_capacity(SHARD_MAILBOX);
                DispatcherActor {
                    shared: actor_shared,
                    batch: Vec::new(),
                    running: Vec::new(),
                    scratch: Vec::new(),
                }
            },
        );
        let _ = shared.addr.set(addr);
        shared
    }

    /// This dispatcher's shard number.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// Hands this shard its part of a broadcast, or gives it back when the
    /// shard's mailbox is full or the bus is stopping.
    pub(crate) fn deliver(&self, msg: Deliver) -> Result<(), Deliver> {
        let Some(addr) = self.addr.get() else {
            return Err(msg);
        };
        addr.try_send(msg).map_err(|e| match e {
            actix::prelude::SendError::Full(m) | actix::prelude::SendError::Closed(m) => m,
        })
    }

    /// Hands this shard one item for one of its clients (see [`Relay`]), or
    /// gives it back when the shard's mailbox is full or the bus is stopping.
    pub(crate) fn relay(&self, msg: Relay) -> Result<(), Relay> {
        let Some(addr) = self.addr.get() else {
            return Err(msg);
        };
        addr.try_send(msg).map_err(|e| match e {
            actix::prelude::SendError::Full(m) | actix::prelude::SendError::Closed(m) => m,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReadyList> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves a slot for a client that is being connected.
    pub(crate) fn register(&self) -> Slot {
        let mut r = self.registry();
        if let Some(slot) = r.free.pop() {
            return slot;
        }
        r.clients.push(None);
        r.clients.len() - 1
    }

    /// Names the client behind `slot` (it can now run).
    pub(crate) fn attach(&self, slot: Slot, client: Weak<dyn Ready>) {
        if let Some(entry) = self.registry().clients.get_mut(slot) {
            *entry = Some(client);
        }
    }

    /// Frees `slot` (its client is gone).
    pub(crate) fn unregister(&self, slot: Slot) {
        let mut r = self.registry();
        if let Some(entry) = r.clients.get_mut(slot) {
            *entry = None;
            r.free.push(slot);
        }
    }

    /// Puts `client` on the ready list; wakes the dispatcher actor only when
    /// no `Run` is outstanding. Never blocks beyond the list's short lock.
    pub(crate) fn schedule(&self, client: Slot) {
        let wake = {
            let mut list = self.lock();
            list.items.push(client);
            !std::mem::replace(&mut list.scheduled, true)
        };
        if wake {
            let Some(addr) = self.addr.get() else {
                self.lock().scheduled = false;
                return;
            };
            let deferred = DEFERRED.with(|d| match d.borrow_mut().as_mut() {
                Some(list) => {
                    list.push(addr.clone());
                    true
                }
                None => false,
            });
            if !deferred && addr.try_send(Run).is_err() {
                // Bus stopping: let a later wake retry.
                self.lock().scheduled = false;
                tracing::debug!("dispatcher not running: ready clients wait");
            }
        }
    }
}

thread_local! {
    /// Dispatchers to wake at the end of the current deferral scope.
    static DEFERRED: RefCell<Option<Vec<actix::Addr<DispatcherActor>>>> = const { RefCell::new(None) };
}

/// Runs `f` (a fan-out) with dispatcher wakes deferred: a dispatcher that
/// becomes ready during `f` is woken when `f` calls [`flush_wakes`] or
/// returns, not at the first push. Without this the dispatchers chase the
/// fan-out on the other core, empty their list after every few clients and
/// need a new wake (a futex call on the fan-out thread) each time.
pub(crate) fn deferring_wakes<R>(f: impl FnOnce() -> R) -> R {
    let outer = DEFERRED.with(|d| d.borrow_mut().replace(Vec::new()));
    let r = f();
    flush_wakes();
    DEFERRED.with(|d| *d.borrow_mut() = outer);
    r
}

/// Wakes the dispatchers that became ready so far in this deferral scope.
pub(crate) fn flush_wakes() {
    let ready = DEFERRED.with(|d| d.borrow_mut().as_mut().map(std::mem::take));
    for addr in ready.into_iter().flatten() {
        if addr.try_send(Run).is_err() {
            tracing::debug!("dispatcher not running: ready clients wait");
        }
    }
}

/// Dispatcher: run the ready clients.
#[derive(Message, Debug)]
#[rtype(result = "()")]
struct Run;

struct DispatcherActor {
    shared: Arc<Dispatcher>,
    /// The ready list taken out of the lock (swapped, so both keep capacity).
    batch: Vec<Slot>,
    /// The ready clients of one round, resolved under one registry lock.
    running: Vec<Arc<dyn Ready>>,
    scratch: Vec<Outbound>,
}

impl Actor for DispatcherActor {
    type Context = Context<Self>;
}

impl Handler<Run> for DispatcherActor {
    type Result = ();

    fn handle(&mut self, _msg: Run, ctx: &mut Context<Self>) {
        self.run_ready(ctx);
    }
}

impl DispatcherActor {
    /// Runs the ready clients until the list is empty or the budget is
    /// spent (then it continues with a `Run` to itself).
    fn run_ready(&mut self, ctx: &mut Context<Self>) {
        let mut handled = 0;
        loop {
            {
                let mut list = self.shared.lock();
                if list.items.is_empty() {
                    list.scheduled = false;
                    drop(list);
                    self.scratch.clear();
                    return;
                }
                std::mem::swap(&mut list.items, &mut self.batch);
            }
            handled += self.batch.len();
            {
                let registry = self.shared.registry();
                self.running.extend(self.batch.drain(..).filter_map(|slot| {
                    registry
                        .clients
                        .get(slot)
                        .and_then(|c| c.as_ref()?.upgrade())
                }));
            }
            for client in self.running.drain(..) {
                // Handlers' panics are caught inside `run`; this guards the
                // other clients of this dispatcher against anything else.
                let scratch = &mut self.scratch;
                if catch_unwind(AssertUnwindSafe(|| client.run(scratch))).is_err() {
                    tracing::error!("in-process client batch panicked; the client's batch is lost");
                    self.scratch.clear();
                }
                if self.scratch.len() >= SCRATCH {
                    self.scratch.clear();
                }
            }
            if handled >= BUDGET {
                self.scratch.clear();
                // `scheduled` stays set: this `Run` continues the work.
                ctx.notify(Run);
                return;
            }
        }
    }
}

impl Handler<Relay> for DispatcherActor {
    type Result = ();

    /// An ack answer or a `Disconnect` for one of this shard's clients, in
    /// its place behind the broadcasts this shard received before it.
    fn handle(&mut self, msg: Relay, ctx: &mut Context<Self>) {
        self.shared.lock().scheduled = true;
        crate::shard::relay(msg);
        self.run_ready(ctx);
    }
}

impl Handler<Deliver> for DispatcherActor {
    type Result = ();

    /// The shard's part of a broadcast: push into each of this shard's
    /// recipients' queues (policy applied), then run the clients that
    /// became ready, so each queue is written and drained on this thread.
    fn handle(&mut self, msg: Deliver, ctx: &mut Context<Self>) {
        // Claim the ready list: wakes during the pushes only append to it
        // (no `Run` message); it is run right below.
        self.shared.lock().scheduled = true;
        crate::shard::deliver(msg, &mut self.scratch);
        self.run_ready(ctx);
    }
}
