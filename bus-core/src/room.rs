//! Rooms: one actor per room, started on the first join and stopped when
//! the room empties. A room actor keeps the room's membership as the
//! namespace applied it, and its statistics, and answers
//! [`Namespace::room`](crate::Namespace::room) queries off the namespace's
//! thread.
//!
//! The namespace actor keeps the index used for fan-out: one mailbox then
//! orders every join, leave and broadcast of the namespace, and a broadcast
//! to several rooms is deduplicated in one pass. Room actors are told about
//! each change after it is applied (one `try_send` per join/leave, never per
//! fan-out recipient), so they must not be used to route events. The
//! broadcast count is a shared counter the namespace bumps, not a message
//! per broadcast.
//!
//! # Why room actors do not perform the fan-out
//!
//! Moving a room's fan-out into its actor (the namespace forwarding joins,
//! leaves and broadcasts to it in order) was considered for throughput and
//! rejected, after profiling the `fanout` bench:
//!
//! - **Speed.** A fan-out is about 300 instructions per recipient on the
//!   pushing side and what costs is moving each recipient's queue between
//!   cores (the queue's tail, the slot, its length and wake flag are
//!   written by the pusher and read by the consumer). A room actor runs on
//!   a worker thread, the same threads as the dispatchers that drain the
//!   in-process clients, so on a 2-core machine it would not add a core;
//!   it would add an actor message per room per broadcast and move the
//!   same cache lines between the same cores. The namespace thread already
//!   fans out while the dispatchers drain on the other core (woken once
//!   per 1024 pushes, see `namespace_actor.rs`).
//! - **Correctness.** A broadcast to several rooms must reach a socket in
//!   two of them once, and a socket must see one sender's events in order
//!   whether they were addressed to one room or several. With the fan-out
//!   split across room actors, a multi-room broadcast would need the rooms
//!   to agree on who delivers to shared members, and a single-room event
//!   sent after a multi-room one could overtake it on another room's
//!   thread; both need a second ordering point, which is the namespace.
//!
//! What would pay off is sharding by *recipient*, not by room: one fan-out
//! shard per worker thread holding the members whose dispatcher runs
//! there, so each queue is written and drained on one core. That keeps
//! per-socket order (each socket lives in one shard) but needs the emit
//! reports and ack collection to merge answers from every shard; it is
//! the next step if the in-process target must be met.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::{Actor, ActorContext, Context, Handler, MessageResult};

use crate::id::SocketId;
use crate::messages::{RoomInfoRequest, RoomJoined, RoomLeft};

/// A snapshot of one room, from [`Namespace::room`](crate::Namespace::room).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomInfo {
    /// The room name.
    pub name: String,
    /// Its members, sorted.
    pub members: Vec<SocketId>,
    /// Broadcasts that targeted this room since it was created.
    pub broadcasts: u64,
}

/// The actor behind one room.
#[derive(Debug)]
pub(crate) struct RoomActor {
    name: String,
    members: BTreeSet<SocketId>,
    /// Counted by the namespace actor as it fans out (no message per broadcast).
    broadcasts: Arc<AtomicU64>,
}

impl RoomActor {
    pub(crate) fn new(name: String, broadcasts: Arc<AtomicU64>) -> Self {
        RoomActor {
            name,
            members: BTreeSet::new(),
            broadcasts,
        }
    }
}

impl Actor for RoomActor {
    type Context = Context<Self>;
}

impl Handler<RoomJoined> for RoomActor {
    type Result = ();
    fn handle(&mut self, msg: RoomJoined, _ctx: &mut Context<Self>) {
        self.members.insert(msg.socket);
    }
}

impl Handler<RoomLeft> for RoomActor {
    type Result = ();
    fn handle(&mut self, msg: RoomLeft, ctx: &mut Context<Self>) {
        self.members.remove(&msg.socket);
        if msg.last {
            ctx.stop();
        }
    }
}

impl Handler<RoomInfoRequest> for RoomActor {
    type Result = MessageResult<RoomInfoRequest>;
    fn handle(&mut self, _msg: RoomInfoRequest, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(RoomInfo {
            name: self.name.clone(),
            members: self.members.iter().cloned().collect(),
            broadcasts: self.broadcasts.load(Ordering::Relaxed),
        })
    }
}
