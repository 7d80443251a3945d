//! Rooms: an actor per queried room, started by the first
//! [`Namespace::room`](crate::Namespace::room) query (seeded with the
//! members then) and stopped when the room empties. A room actor keeps the
//! room's membership as the namespace applied it, and its statistics, and
//! answers those queries off the namespace's thread. A room never queried
//! (such as every socket's own room) has no actor: it would cost each
//! connection a task and a mailbox.
//!
//! Who owns what on the delivery path:
//!
//! - the **namespace actor** owns the room index (`namespace_actor.rs`):
//!   one mailbox orders every join, leave and broadcast of the namespace,
//!   a broadcast to several rooms is deduplicated there, and it keeps each
//!   room's members split by fan-out shard (a snapshot rebuilt by the first
//!   broadcast after a membership change);
//! - each **fan-out shard** (the dispatcher of one worker thread,
//!   `dispatch.rs` and `shard.rs`) receives one message per broadcast with
//!   the shared event and its members' part of the snapshot, and pushes
//!   into and runs those in-process clients on its own thread;
//! - **room actors** only mirror membership for queries: they are told
//!   about each change after it is applied (one `try_send` per join/leave,
//!   never per fan-out recipient), so they must not be used to route
//!   events. The broadcast count is a shared counter the namespace bumps,
//!   not a message per broadcast.
//!
//! # Why the fan-out is sharded by recipient, not by room
//!
//! Moving a room's fan-out into its room actor (the namespace forwarding
//! joins, leaves and broadcasts to it in order) was rejected:
//!
//! - **Correctness.** A broadcast to several rooms must reach a socket in
//!   two of them once, and a socket must see one sender's events in order
//!   whether they were addressed to one room or several. Split across room
//!   actors, a multi-room broadcast would need the rooms to agree on who
//!   delivers to shared members, and a single-room event sent after a
//!   multi-room one could overtake it on another room's thread.
//! - **Speed.** A room actor on some worker would still push into queues
//!   that other workers drain, moving each queue's cache lines between
//!   cores once per delivery.
//!
//! Sharding by recipient has neither problem: a socket belongs to one
//! shard for its whole life, every broadcast reaches that shard through
//! one mailbox in the namespace's order, and the queue is written and
//! drained on the shard's core. The namespace still selects (and
//! deduplicates) the recipients; the shards only deliver.

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
    pub(crate) fn new(
        name: String,
        members: BTreeSet<SocketId>,
        broadcasts: Arc<AtomicU64>,
    ) -> Self {
        RoomActor {
            name,
            members,
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
