//! The `/chat` namespace: bus-core handlers that apply the [`Chat`] rules and
//! send their outcome to the right sockets.
//!
//! Owns the event names and reply shapes of the demo's protocol (documented
//! at the top of `static/chat.js`); the rules themselves live in `chat`.

use std::sync::Arc;

use bus_core::{AckResponder, Namespace, Socket};
use serde::Serialize;
use serde_json::{json, Value};

use super::chat::{Chat, ChatError, Presence, SendRequest, TypingRequest};

/// Registers the chat's handlers on every socket that connects to `ns`.
pub(crate) fn register(ns: &Namespace, chat: Arc<Chat>) {
    ns.on_connection(move |socket| on_connection(&socket, &chat));
}

fn on_connection(socket: &Socket, chat: &Arc<Chat>) {
    let id = socket.id().as_str().to_owned();
    let session = socket
        .handshake()
        .auth
        .get("session")
        .and_then(Value::as_str);
    chat.connect(&id, session);
    send(socket.emit("rooms", &chat.rooms()), "rooms");

    socket.on("nickname", {
        let (chat, id) = (chat.clone(), id.clone());
        move |socket: &Socket, name: Value, ack| {
            let result = match name.as_str() {
                Some(name) => chat.set_nickname(&id, name),
                None => Err(ChatError::Malformed("send the nickname as a string")),
            };
            match result {
                Ok((nickname, updates)) => {
                    for presence in &updates {
                        broadcast_presence(socket, presence);
                    }
                    reply(ack, json!({ "ok": true, "nickname": nickname }));
                }
                Err(error) => refuse(ack, &error),
            }
        }
    });

    socket.on("join", {
        let (chat, id) = (chat.clone(), id.clone());
        move |socket: &Socket, room: Value, ack| {
            let result = match room.as_str() {
                Some(room) => chat.join(&id, room),
                None => Err(ChatError::Malformed("send the room name as a string")),
            };
            match result {
                Ok(joined) => {
                    if let Some(presence) = &joined.presence {
                        // The namespace applies the join before the broadcasts
                        // that follow, so the joiner is a member of both.
                        send(socket.join(joined.room.clone()), "join");
                        broadcast_presence(socket, presence);
                    }
                    if joined.rooms_changed {
                        send(socket.namespace().emit("rooms", &chat.rooms()), "rooms");
                    }
                    let members = joined
                        .presence
                        .map(|presence| presence.members)
                        .unwrap_or_else(|| chat.presence(&joined.room));
                    reply(
                        ack,
                        json!({ "ok": true, "room": joined.room, "members": members }),
                    );
                }
                Err(error) => refuse(ack, &error),
            }
        }
    });

    socket.on("leave", {
        let (chat, id) = (chat.clone(), id.clone());
        move |socket: &Socket, room: Value, ack| {
            let result = match room.as_str() {
                Some(room) => chat.leave(&id, room),
                None => Err(ChatError::Malformed("send the room name as a string")),
            };
            match result {
                Ok(presence) => {
                    send(socket.leave(presence.room.clone()), "leave");
                    broadcast_presence(socket, &presence);
                    send(socket.namespace().emit("rooms", &chat.rooms()), "rooms");
                    reply(ack, json!({ "ok": true, "room": presence.room }));
                }
                Err(error) => refuse(ack, &error),
            }
        }
    });

    socket.on("message", {
        let (chat, id) = (chat.clone(), id.clone());
        move |socket: &Socket, request: Value, ack| {
            let result = serde_json::from_value::<SendRequest>(request)
                .map_err(|_| ChatError::Malformed("send {room, text}"))
                .and_then(|request| chat.message(&id, &request.room, &request.text));
            match result {
                Ok(message) => {
                    send(
                        socket
                            .namespace()
                            .to(message.room.clone())
                            .emit("message", &message),
                        "message",
                    );
                    reply(ack, json!({ "ok": true }));
                }
                Err(error) => refuse(ack, &error),
            }
        }
    });

    socket.on("typing", {
        let (chat, id) = (chat.clone(), id.clone());
        move |socket: &Socket, request: Value, _ack| {
            let Ok(request) = serde_json::from_value::<TypingRequest>(request) else {
                tracing::debug!(socket = %socket.id(), "typing without {{room, typing}}: ignored");
                return;
            };
            if let Some(typing) = chat.typing(&id, &request.room, request.typing) {
                send(
                    socket.to(typing.room.clone()).emit("typing", &typing),
                    "typing",
                );
            }
        }
    });

    socket.on_disconnect({
        let chat = chat.clone();
        move |socket: &Socket, _reason| {
            let updates = chat.disconnect(&id);
            for presence in &updates {
                broadcast_presence(socket, presence);
            }
            if !updates.is_empty() {
                send(socket.namespace().emit("rooms", &chat.rooms()), "rooms");
            }
        }
    });
}

/// Tells a room's members (the sender included) who is in it now.
fn broadcast_presence(socket: &Socket, presence: &Presence) {
    send(
        socket
            .namespace()
            .to(presence.room.clone())
            .emit("presence", presence),
        "presence",
    );
}

/// Logs an emit that failed: the chat goes on without it.
fn send<E: std::fmt::Display>(result: Result<(), E>, what: &str) {
    if let Err(error) = result {
        tracing::warn!(%error, what, "chat emit failed");
    }
}

fn reply<T: Serialize>(ack: Option<AckResponder>, value: T) {
    if let Some(ack) = ack {
        send(ack.send(&value), "reply");
    }
}

fn refuse(ack: Option<AckResponder>, error: &ChatError) {
    reply(ack, json!({ "ok": false, "error": error.to_string() }));
}
