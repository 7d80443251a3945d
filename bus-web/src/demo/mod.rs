//! The demo chat that `bus-server` serves at `/`: a page with its own small
//! Socket.IO client, and the `/chat` namespace behind it.
//!
//! Owns the demo only; the gateway that carries it is [`crate::socketio`].

mod assets;
mod chat;
mod handlers;

use std::sync::Arc;

pub use chat::{
    Chat, ChatError, Joined, Message, Presence, RoomInfo, SendRequest, Typing, TypingRequest,
    DEFAULT_ROOMS, MAX_MESSAGE_CHARS, MAX_NICKNAME_CHARS, MAX_ROOMS, MAX_ROOMS_PER_SOCKET,
    MAX_ROOM_CHARS,
};

/// Serves the demo page's files (`/`, `/index.html`, `/chat.js`, `/sio.js`,
/// `/chat.css`), embedded in the binary.
///
/// # Examples
///
/// ```
/// use actix_web::App;
///
/// let _app = App::new().configure(bus_web::demo::configure_assets);
/// ```
pub fn configure_assets(cfg: &mut actix_web::web::ServiceConfig) {
    assets::configure(cfg);
}

/// The namespace the demo page connects to.
pub const CHAT_NAMESPACE: &str = "/chat";

/// Creates the [`CHAT_NAMESPACE`] on `bus` and registers the chat's handlers;
/// returns the chat's state (who is connected, in which rooms).
///
/// # Examples
///
/// ```
/// let bus = bus_core::Bus::start();
/// let chat = bus_web::demo::register(&bus);
/// assert_eq!(chat.rooms().len(), bus_web::demo::DEFAULT_ROOMS.len());
/// ```
pub fn register(bus: &bus_core::Bus) -> Arc<Chat> {
    let chat = Arc::new(Chat::new());
    handlers::register(&bus.of(CHAT_NAMESPACE), chat.clone());
    chat
}
