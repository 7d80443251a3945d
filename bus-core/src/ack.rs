//! Acknowledgement tracking: counter ids, pending entries registered before
//! the send, resolution, and failing everything with `Closed` on close.
//!
//! Owns the pending-ack table and the [`AckResponder`]; it must not hold a
//! lock while user code runs (waiters are taken out, then resolved).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::channel::{mpsc, oneshot};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::connection::SocketShared;
use crate::error::{AckError, EmitError};
use crate::id::SocketId;
use crate::payload::Payload;
use crate::reliable::Seq;

pub(crate) type Reply = oneshot::Sender<Result<Payload, AckError>>;
pub(crate) type BroadcastTx = mpsc::UnboundedSender<(SocketId, Result<Payload, AckError>)>;

/// Who waits for an answer.
#[derive(Debug)]
pub(crate) enum Waiter {
    Reply(Reply),
    Broadcast { socket: SocketId, tx: BroadcastTx },
}

impl Waiter {
    pub(crate) fn resolve(self, result: Result<Payload, AckError>) {
        match self {
            Waiter::Reply(tx) => {
                let _ = tx.send(result);
            }
            Waiter::Broadcast { socket, tx } => {
                let _ = tx.unbounded_send((socket, result));
            }
        }
    }
}

/// One pending acknowledgement: an answer waiter and/or an at-least-once seq.
#[derive(Debug, Default)]
pub(crate) struct PendingAck {
    pub(crate) waiter: Option<Waiter>,
    /// At-least-once: the client id and the event's sequence number.
    pub(crate) reliable: Option<(String, Seq)>,
}

#[derive(Debug, Default)]
struct Table {
    pending: HashMap<u64, PendingAck>,
    closed: bool,
}

/// The pending acks of one direction of one socket.
#[derive(Debug, Default)]
pub(crate) struct AckMap {
    next: AtomicU64,
    table: Mutex<Table>,
}

impl AckMap {
    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `p` under a fresh id; `Err(p)` when already closed.
    pub(crate) fn register(&self, p: PendingAck) -> Result<u64, PendingAck> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut t = self.lock();
        if t.closed {
            return Err(p);
        }
        t.pending.insert(id, p);
        Ok(id)
    }

    pub(crate) fn take(&self, id: u64) -> Option<PendingAck> {
        self.lock().pending.remove(&id)
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().pending.len()
    }

    /// Closes the table and returns everything pending (to fail with `Closed`).
    pub(crate) fn close(&self) -> Vec<PendingAck> {
        let mut t = self.lock();
        t.closed = true;
        t.pending.drain().map(|(_, p)| p).collect()
    }

    /// Fails every pending waiter with `Closed`.
    pub(crate) fn fail_all(&self) {
        for p in self.close() {
            if let Some(w) = p.waiter {
                w.resolve(Err(AckError::Closed));
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// The server side answers an event the client emitted.
    ToClient,
    /// The client answers an event the server side emitted.
    ToServer,
}

/// Answers an event whose sender asked for an acknowledgement.
///
/// Handlers receive `Some(AckResponder)` when the sender used
/// `emit_with_ack`, or (on an in-process client) for at-least-once events.
/// It is `Send`: a handler may answer later from another thread. Answer at
/// most once (it is consumed).
///
/// # Examples
///
/// ```
/// # let bus = bus_core::Bus::start();
/// let ns = bus.of("/");
/// ns.on_connection(|socket| {
///     socket.on("double", |_s, n: u32, ack| {
///         if let Some(ack) = ack {
///             let _ = ack.send(&(n * 2));
///         }
///     });
/// });
/// let client = futures::executor::block_on(ns.connect(Default::default())).unwrap();
/// let got: u32 = futures::executor::block_on(
///     client.emit_with_ack("double", &21, std::time::Duration::from_secs(5)),
/// ).unwrap();
/// assert_eq!(got, 42);
/// ```
pub struct AckResponder {
    pub(crate) socket: Arc<SocketShared>,
    pub(crate) ack_id: u64,
    pub(crate) direction: Direction,
    pub(crate) used: Arc<AtomicBool>,
}

impl fmt::Debug for AckResponder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckResponder")
            .field("socket", &self.socket.id)
            .field("ack_id", &self.ack_id)
            .finish()
    }
}

impl AckResponder {
    /// Answers with one value.
    ///
    /// The answer is queued behind everything the handler emitted to its
    /// own socket before answering, so the client sees those first.
    ///
    /// # Errors
    /// [`EmitError::Encode`] if `value` cannot be serialised;
    /// [`EmitError::Closed`] if the socket is gone; [`EmitError::Busy`] if
    /// the namespace's mailbox is full.
    pub fn send<T: Serialize + ?Sized>(self, value: &T) -> Result<(), EmitError> {
        let payload = Payload::json(value)?;
        self.send_payload(payload)
    }

    /// Answers with a raw payload (several arguments, or binary).
    ///
    /// # Errors
    /// [`EmitError::Closed`] if the socket is gone; [`EmitError::Busy`] if
    /// the namespace's mailbox is full.
    pub fn send_payload(self, payload: Payload) -> Result<(), EmitError> {
        self.used.store(true, Ordering::Release);
        match self.direction {
            Direction::ToClient => self.socket.push_ack(self.ack_id, payload),
            Direction::ToServer => {
                self.socket.ack_from_client(self.ack_id, payload);
                Ok(())
            }
        }
    }
}

/// One answer per recipient of a broadcast `emit_with_ack`.
///
/// `answered` holds the decoded answers; `failed` names every recipient that
/// timed out, closed, or answered with something undecodable.
pub struct AckResponses<R> {
    /// Recipients that answered, with their decoded answer.
    pub answered: Vec<(SocketId, R)>,
    /// Recipients that did not answer in time (or closed / sent garbage).
    pub failed: Vec<(SocketId, AckError)>,
}

impl<R> fmt::Debug for AckResponses<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let answered: Vec<&SocketId> = self.answered.iter().map(|(s, _)| s).collect();
        f.debug_struct("AckResponses")
            .field("answered", &answered)
            .field("failed", &self.failed)
            .finish()
    }
}

impl<R> AckResponses<R> {
    /// The recipients that did not answer before the timeout.
    pub fn timed_out(&self) -> Vec<&SocketId> {
        self.failed
            .iter()
            .filter(|(_, e)| *e == AckError::Timeout)
            .map(|(s, _)| s)
            .collect()
    }
}

pub(crate) fn decode_ack<R: DeserializeOwned>(p: Result<Payload, AckError>) -> Result<R, AckError> {
    let p = p?;
    p.decode::<R>().map_err(|e| AckError::Decode(e.to_string()))
}
