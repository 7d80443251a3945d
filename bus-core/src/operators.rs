//! Broadcast operators: selectors (`to`, `except`, sender skip) and flags
//! (`volatile`, `timeout`) followed by an action (`emit`, `emit_with_ack`,
//! `fetch_sockets`, `sockets_join`, `sockets_leave`, `disconnect_sockets`).
//!
//! Owns building requests for the namespace actor and collecting answers; it
//! must not fan out itself.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::StreamExt as _;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ack::{decode_ack, AckResponses};
use crate::error::{AckError, EmitError};
use crate::id::SocketId;
use crate::messages::{Broadcast, Select, SelectOp, Target};
use crate::namespace::Namespace;
use crate::payload::{Event, Payload};
use crate::socket::Socket;

/// What an emit reached, from [`BroadcastOperator::emit_reported`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmitReport {
    /// Recipients whose queue took the event.
    pub queued: usize,
}

/// Selects sockets of one namespace and acts on them.
///
/// `to` may repeat (union of rooms; a socket in several of them gets the
/// event once), `except` removes rooms' members, and a socket-made operator
/// (`socket.to(..)`, `socket.broadcast()`) skips the sender.
///
/// # Examples
///
/// ```
/// let bus = bus_core::Bus::start();
/// let ns = bus.of("/");
/// ns.to("room1").to("room2").except("muted").emit("news", &"hello").unwrap();
/// ns.volatile().emit("tick", &1).unwrap();
/// ```
#[derive(Clone)]
pub struct BroadcastOperator {
    ns: Namespace,
    target: Target,
    volatile: bool,
    timeout: Option<Duration>,
}

impl fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("ns", &self.ns.name())
            .field("target", &self.target)
            .field("volatile", &self.volatile)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Namespace) -> Self {
        BroadcastOperator {
            ns,
            target: Target::default(),
            volatile: false,
            timeout: None,
        }
    }

    pub(crate) fn skipping(mut self, socket: SocketId) -> Self {
        self.target.skip = Some(socket);
        self
    }

    /// Adds `room` to the targets (repeatable).
    pub fn to(mut self, room: impl Into<String>) -> Self {
        self.target.rooms.push(room.into());
        self
    }

    /// Excludes the members of `room` (repeatable).
    pub fn except(mut self, room: impl Into<String>) -> Self {
        self.target.except.push(room.into());
        self
    }

    /// Marks the event volatile: dropped for sockets whose queue is full
    /// (and never retained for at-least-once clients).
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Sets how long [`emit_with_ack`](Self::emit_with_ack) waits (default:
    /// the namespace's `ack_timeout`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Emits `event` with one argument. Never blocks: the namespace actor
    /// fans it out in order with every other command.
    ///
    /// # Errors
    /// [`EmitError::Encode`], [`EmitError::Busy`], [`EmitError::Closed`].
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: impl Into<String>,
        data: &T,
    ) -> Result<(), EmitError> {
        self.emit_payload(event, Payload::json(data)?)
    }

    /// Emits `event` with a raw payload.
    ///
    /// # Errors
    /// As [`emit`](Self::emit).
    pub fn emit_payload(
        &self,
        event: impl Into<String>,
        payload: Payload,
    ) -> Result<(), EmitError> {
        self.send(Event::new(event, payload), None, None)
            .map(|_| ())
    }

    /// Emits and waits until the event is queued for (or, in-process,
    /// handed to) every recipient: the report merges the namespace's part
    /// and each worker's fan-out shard's part.
    ///
    /// # Errors
    /// [`EmitError::QueueFull`] naming the sockets that refused it under
    /// [`FullQueuePolicy::Reject`](crate::FullQueuePolicy::Reject) (everyone
    /// else got it); otherwise as [`emit`](Self::emit).
    pub fn emit_reported<T: Serialize + ?Sized>(
        &self,
        event: impl Into<String>,
        data: &T,
    ) -> impl Future<Output = Result<EmitReport, EmitError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let sent = Payload::json(data)
            .map_err(EmitError::from)
            .and_then(|p| self.send(Event::new(event, p), None, Some(tx)));
        async move {
            let event = sent?;
            let report = match rx.await {
                Ok(report) => report,
                Err(_) => return Err(EmitError::closed().with_event(event)),
            };
            if report.rejected.is_empty() {
                Ok(EmitReport {
                    queued: report.queued,
                })
            } else {
                let err = EmitError::QueueFull {
                    sockets: report.rejected,
                    event: None,
                };
                Err(err.with_event(event))
            }
        }
    }

    /// Emits and collects one answer per recipient within the timeout;
    /// recipients that did not answer are named in `failed` with
    /// [`AckError::Timeout`] (their pending entries are removed).
    ///
    /// # Errors
    /// As [`emit`](Self::emit) for the send itself.
    pub fn emit_with_ack<R, T>(
        &self,
        event: impl Into<String>,
        data: &T,
    ) -> impl Future<Output = Result<AckResponses<R>, EmitError>> + Send + 'static
    where
        R: DeserializeOwned + Send + 'static,
        T: Serialize + ?Sized,
    {
        self.ack_round(event, Payload::json(data), decode_ack::<R>)
    }

    /// As [`emit_with_ack`](Self::emit_with_ack) with a raw payload, and
    /// each answer handed over raw: its binary attachments included (a
    /// remote client may answer with binary data, which no `R` decodes).
    ///
    /// # Errors
    /// As [`emit`](Self::emit) for the send itself.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures::executor::block_on;
    /// use bus_core::Payload;
    /// let bus = bus_core::Bus::start();
    /// let ns = bus.of("/");
    /// let client = block_on(ns.connect_with(Default::default(), |c| {
    ///     c.on("thumbnail", |_: (), ack| {
    ///         let _ = ack.unwrap().send_payload(Payload::binary(vec![0xff, 0xd8]));
    ///     });
    /// })).unwrap();
    /// let answers = block_on(
    ///     ns.timeout(Duration::from_secs(5)).emit_with_ack_payload("thumbnail", Payload::empty()),
    /// ).unwrap();
    /// let (who, answer) = &answers.answered[0];
    /// assert_eq!(who, client.id());
    /// assert_eq!(&answer.attachments[0][..], &[0xff, 0xd8]);
    /// ```
    pub fn emit_with_ack_payload(
        &self,
        event: impl Into<String>,
        payload: Payload,
    ) -> impl Future<Output = Result<AckResponses<Payload>, EmitError>> + Send + 'static {
        self.ack_round(event, Ok(payload), |answer| answer)
    }

    /// Emits and collects one answer per recipient, each turned into `R`
    /// by `decode`.
    fn ack_round<R: Send + 'static>(
        &self,
        event: impl Into<String>,
        payload: Result<Payload, crate::error::EncodeError>,
        decode: fn(Result<Payload, AckError>) -> Result<R, AckError>,
    ) -> impl Future<Output = Result<AckResponses<R>, EmitError>> + Send + 'static {
        let (ack_tx, mut ack_rx) = mpsc::unbounded();
        let (rep_tx, rep_rx) = oneshot::channel();
        let sent = payload
            .map_err(EmitError::from)
            .and_then(|p| self.send(Event::new(event, p), Some(ack_tx), Some(rep_tx)));
        let timeout = self.timeout.unwrap_or(self.ns.config().ack_timeout);
        let timer = self.ns.timer().clone();
        async move {
            sent?;
            let report = rep_rx.await.map_err(|_| EmitError::closed())?;
            let mut waiting: std::collections::HashMap<
                SocketId,
                (Arc<crate::connection::SocketShared>, u64),
            > = report
                .pending
                .into_iter()
                .map(|(s, id)| (s.id.clone(), (s, id)))
                .collect();
            let mut out = AckResponses {
                answered: Vec::new(),
                failed: Vec::new(),
            };
            for s in report.not_queued {
                out.failed.push((s, AckError::NotDelivered));
            }
            let sleep = timer.sleep(timeout);
            futures::pin_mut!(sleep);
            while !waiting.is_empty() {
                match futures::future::select(ack_rx.next(), sleep.as_mut()).await {
                    futures::future::Either::Left((Some((socket, result)), _)) => {
                        if waiting.remove(&socket).is_some() {
                            match decode(result) {
                                Ok(r) => out.answered.push((socket, r)),
                                Err(e) => out.failed.push((socket, e)),
                            }
                        }
                    }
                    futures::future::Either::Left((None, _)) => break,
                    futures::future::Either::Right(_) => break,
                }
            }
            for (socket, (shared, id)) in waiting {
                shared.acks.take(id);
                out.failed.push((socket, AckError::Timeout));
            }
            Ok(out)
        }
    }

    /// Hands the command to the namespace actor; returns the shared event
    /// when a report is awaited (for a later error to hand back), or an
    /// error carrying the event.
    fn send(
        &self,
        event: Event,
        ack: Option<crate::ack::BroadcastTx>,
        report: Option<oneshot::Sender<crate::messages::FanoutReport>>,
    ) -> Result<Option<Arc<Event>>, EmitError> {
        let event = Arc::new(event);
        let keep = report.as_ref().map(|_| event.clone());
        let msg = Broadcast {
            event,
            target: self.target.clone(),
            volatile: self.volatile,
            ack,
            report,
        };
        match self.ns.try_command(msg) {
            Ok(()) => Ok(keep),
            Err((e, msg)) => Err(e.with_event(Some(msg.event))),
        }
    }

    /// The selected sockets' server-side handles.
    ///
    /// # Errors
    /// [`EmitError::Busy`], [`EmitError::Closed`].
    pub fn fetch_sockets(
        &self,
    ) -> impl Future<Output = Result<Vec<Socket>, EmitError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let sent = self.ns.send_command(Select {
            target: self.target.clone(),
            op: SelectOp::Fetch(tx),
        });
        async move {
            sent?;
            rx.await.map_err(|_| EmitError::closed())
        }
    }

    /// Makes the selected sockets join `room`.
    ///
    /// # Errors
    /// [`EmitError::Busy`], [`EmitError::Closed`].
    pub fn sockets_join(&self, room: impl Into<String>) -> Result<(), EmitError> {
        self.ns.send_command(Select {
            target: self.target.clone(),
            op: SelectOp::Join(vec![room.into()]),
        })
    }

    /// Makes the selected sockets leave `room`.
    ///
    /// # Errors
    /// [`EmitError::Busy`], [`EmitError::Closed`].
    pub fn sockets_leave(&self, room: impl Into<String>) -> Result<(), EmitError> {
        self.ns.send_command(Select {
            target: self.target.clone(),
            op: SelectOp::Leave(room.into()),
        })
    }

    /// Disconnects the selected sockets (`server namespace disconnect`).
    ///
    /// # Errors
    /// [`EmitError::Busy`], [`EmitError::Closed`].
    pub fn disconnect_sockets(&self) -> Result<(), EmitError> {
        self.ns.send_command(Select {
            target: self.target.clone(),
            op: SelectOp::Disconnect,
        })
    }
}
