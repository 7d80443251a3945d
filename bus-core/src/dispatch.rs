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
//! Owns the ready list and the dispatcher actor; it must not know what a
//! client does with its batch (`client.rs` does).

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use actix::prelude::ArbiterHandle;
use actix::{Actor, AsyncContext, Context, Handler, Message};

use crate::queue::Outbound;

/// Something a dispatcher runs when it is ready: drain a queue, run handlers.
pub(crate) trait Ready: Send + Sync {
    /// Drains one batch and handles it. `scratch` is empty on entry and
    /// must be left empty (it is reused to avoid an allocation per batch).
    fn run(&self, scratch: &mut Vec<Outbound>);
}

/// Clients handled per `Run` before the dispatcher yields its thread to
/// the other actors there (it re-sends itself `Run` to continue).
const BUDGET: usize = 4096;

#[derive(Default)]
struct ReadyList {
    items: Vec<Weak<dyn Ready>>,
    /// A `Run` is outstanding (sent and not yet finished).
    scheduled: bool,
}

/// The handle wakers use to put a client on the ready list.
pub(crate) struct Dispatcher {
    list: Mutex<ReadyList>,
    addr: OnceLock<actix::Addr<DispatcherActor>>,
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher").finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// Starts a dispatcher actor on `arbiter`.
    pub(crate) fn start(arbiter: &ArbiterHandle) -> Arc<Dispatcher> {
        let shared = Arc::new(Dispatcher {
            list: Mutex::new(ReadyList::default()),
            addr: OnceLock::new(),
        });
        let actor_shared = shared.clone();
        let addr = DispatcherActor::start_in_arbiter(
            arbiter,
            move |ctx: &mut Context<DispatcherActor>| {
                // At most one `Run` is in the mailbox (the `scheduled` flag);
                // continuing after the budget uses `notify`, not the mailbox.
                ctx.set_mailbox_capacity(16);
                DispatcherActor {
                    shared: actor_shared,
                    batch: Vec::new(),
                    scratch: Vec::new(),
                }
            },
        );
        let _ = shared.addr.set(addr);
        shared
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReadyList> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts `client` on the ready list; wakes the dispatcher actor only when
    /// no `Run` is outstanding. Never blocks beyond the list's short lock.
    pub(crate) fn schedule(&self, client: Weak<dyn Ready>) {
        let wake = {
            let mut list = self.lock();
            list.items.push(client);
            !std::mem::replace(&mut list.scheduled, true)
        };
        if wake {
            let sent = self.addr.get().map(|a| a.try_send(Run));
            if !matches!(sent, Some(Ok(()))) {
                // Bus stopping (or not started): let a later wake retry.
                self.lock().scheduled = false;
                tracing::debug!("dispatcher not running: ready clients wait");
            }
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
    batch: Vec<Weak<dyn Ready>>,
    scratch: Vec<Outbound>,
}

impl Actor for DispatcherActor {
    type Context = Context<Self>;
}

impl Handler<Run> for DispatcherActor {
    type Result = ();

    fn handle(&mut self, _msg: Run, ctx: &mut Context<Self>) {
        let mut handled = 0;
        loop {
            {
                let mut list = self.shared.lock();
                if list.items.is_empty() {
                    list.scheduled = false;
                    return;
                }
                std::mem::swap(&mut list.items, &mut self.batch);
            }
            handled += self.batch.len();
            for client in self.batch.drain(..) {
                if let Some(client) = client.upgrade() {
                    client.run(&mut self.scratch);
                    self.scratch.clear();
                }
            }
            if handled >= BUDGET {
                // `scheduled` stays set: this `Run` continues the work.
                ctx.notify(Run);
                return;
            }
        }
    }
}
