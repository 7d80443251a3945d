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
//! fan-out recipient), so they must not be used to route events.

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
