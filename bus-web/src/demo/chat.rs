//! The rules and state of the demo chat: nicknames, rooms, presence, messages
//! and typing, independent of any transport.
//!
//! Every operation validates its input and returns what the namespace code
//! must tell whom ([`Presence`], [`Message`], [`Typing`]); it never emits
//! itself, so no lock is held while an event goes out. The bus-core wiring
//! lives in `handlers`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Longest nickname, in characters.
pub const MAX_NICKNAME_CHARS: usize = 24;
/// Longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 32;
/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// How many rooms one socket may be in at once.
pub const MAX_ROOMS_PER_SOCKET: usize = 16;
/// How many rooms with members the chat holds at once, besides the default ones.
pub const MAX_ROOMS: usize = 256;
/// Rooms that are always listed, even when empty.
pub const DEFAULT_ROOMS: [&str; 2] = ["general", "random"];

/// Why a chat request was refused; the message is shown to the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// The nickname is empty, too long or holds control characters.
    #[error("a nickname has 1 to 24 characters and no control characters: pick another")]
    InvalidNickname,
    /// Someone else connected uses this nickname (compared case-insensitively).
    #[error("nickname is taken: pick another")]
    NicknameTaken,
    /// The socket asked for a room or sent a message before picking a nickname.
    #[error("pick a nickname first")]
    NoNickname,
    /// The room name is empty, too long or holds other characters than
    /// letters, digits, `-`, `_` and `.`.
    #[error("a room name has 1 to 32 letters, digits, '-', '_' or '.': pick another")]
    InvalidRoom,
    /// The socket is in [`MAX_ROOMS_PER_SOCKET`] rooms already.
    #[error("you are in 16 rooms already: leave one first")]
    TooManyRooms,
    /// The chat holds [`MAX_ROOMS`] rooms already.
    #[error("the server has too many rooms: join an existing one")]
    ServerFull,
    /// The socket is not in the room it wrote to or tried to leave.
    #[error("join the room first")]
    NotInRoom,
    /// The message is empty or longer than [`MAX_MESSAGE_CHARS`].
    #[error("a message has 1 to 2000 characters")]
    InvalidMessage,
    /// The event's arguments do not have the expected shape.
    #[error("malformed request: {0}")]
    Malformed(&'static str),
}

/// A room as the room list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomInfo {
    /// The room's name.
    pub name: String,
    /// How many sockets are in it.
    pub members: usize,
}

/// Who is in a room after a change, for the room's members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Presence {
    /// The room.
    pub room: String,
    /// The nicknames in the room, sorted, without duplicates.
    pub members: Vec<String>,
    /// Who just joined, if that is the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined: Option<String>,
    /// Who just left, if that is the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left: Option<String>,
}

/// A message for a room's members, the sender included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// The room.
    pub room: String,
    /// The sender's nickname.
    pub from: String,
    /// The text, trimmed.
    pub text: String,
    /// When the server accepted it, in milliseconds since the Unix epoch.
    pub at: u64,
}

/// A typing indicator for a room's other members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Typing {
    /// The room.
    pub room: String,
    /// Who is typing.
    pub nickname: String,
    /// Whether they started (`true`) or stopped (`false`).
    pub typing: bool,
}

/// The `message` request: `{room, text}`.
#[derive(Debug, Clone, Deserialize)]
pub struct SendRequest {
    /// The room to write to.
    pub room: String,
    /// The text.
    pub text: String,
}

/// The `typing` request: `{room, typing}`.
#[derive(Debug, Clone, Deserialize)]
pub struct TypingRequest {
    /// The room.
    pub room: String,
    /// Whether the sender started or stopped typing.
    pub typing: bool,
}

/// The result of a successful join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The room, normalised (trimmed, lowercase, spaces as `-`).
    pub room: String,
    /// The presence update for the room, or `None` when the socket was
    /// already in it.
    pub presence: Option<Presence>,
    /// Whether the room list changed (a new room, or a new count).
    pub rooms_changed: bool,
}

#[derive(Debug, Default)]
struct Member {
    nickname: Option<String>,
    rooms: BTreeSet<String>,
    /// The page's session secret, if it sent a valid one.
    session: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    /// Every connected socket, by socket id.
    members: HashMap<String, Member>,
    /// Lowercased nickname to the socket that holds it.
    nicknames: HashMap<String, String>,
    /// Room name to the sockets in it.
    rooms: BTreeMap<String, BTreeSet<String>>,
}

impl State {
    fn nickname_of(&self, socket: &str) -> Result<String, ChatError> {
        self.members
            .get(socket)
            .and_then(|member| member.nickname.clone())
            .ok_or(ChatError::NoNickname)
    }

    fn presence(&self, room: &str) -> Vec<String> {
        let names: BTreeSet<String> = self
            .rooms
            .get(room)
            .into_iter()
            .flatten()
            .filter_map(|socket| self.members.get(socket)?.nickname.clone())
            .collect();
        names.into_iter().collect()
    }

    /// Removes `socket` from `room`; the room goes when it empties.
    fn remove_from_room(&mut self, socket: &str, room: &str) {
        if let Some(sockets) = self.rooms.get_mut(room) {
            sockets.remove(socket);
            if sockets.is_empty() {
                self.rooms.remove(room);
            }
        }
    }
}

/// The chat's shared state: who is connected, under which nickname, in which
/// rooms.
///
/// Operations are short and never call out while the lock is held.
///
/// # Examples
///
/// ```
/// use bus_web::demo::Chat;
///
/// let chat = Chat::new();
/// chat.connect("s1", None);
/// chat.set_nickname("s1", "ada").unwrap();
/// let joined = chat.join("s1", "Lobby").unwrap();
/// assert_eq!(joined.room, "lobby");
/// let message = chat.message("s1", "lobby", " hi ").unwrap();
/// assert_eq!((message.from.as_str(), message.text.as_str()), ("ada", "hi"));
/// ```
#[derive(Debug, Default)]
pub struct Chat {
    state: Mutex<State>,
}

impl Chat {
    /// An empty chat.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements, so a panic elsewhere
        // while it was held does not make it unusable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a connected socket, without a nickname yet.
    ///
    /// `session` is a secret the page keeps for as long as its tab lives
    /// (the handshake auth's `session`, 16 to 128 ASCII letters, digits, `-`
    /// or `_`; anything else counts as none). A socket with the same session
    /// as a nickname's holder may take that nickname over: that is a page
    /// reconnecting before the server noticed its old connection was gone.
    pub fn connect(&self, socket: &str, session: Option<&str>) {
        let session = session
            .filter(|session| {
                (16..=128).contains(&session.len())
                    && session
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .map(str::to_owned);
        self.lock()
            .members
            .entry(socket.to_owned())
            .or_default()
            .session = session;
    }

    /// Gives `socket` a nickname (trimmed), or renames it.
    ///
    /// Returns the nickname and the presence updates of the rooms the socket
    /// is in (empty unless it was renamed while in rooms).
    ///
    /// # Errors
    /// [`ChatError::InvalidNickname`], [`ChatError::NicknameTaken`].
    pub fn set_nickname(
        &self,
        socket: &str,
        raw: &str,
    ) -> Result<(String, Vec<Presence>), ChatError> {
        let nickname = raw.trim();
        let chars = nickname.chars().count();
        if chars == 0 || chars > MAX_NICKNAME_CHARS || nickname.chars().any(char::is_control) {
            return Err(ChatError::InvalidNickname);
        }
        let key = nickname.to_lowercase();
        let mut state = self.lock();
        if let Some(holder) = state.nicknames.get(&key) {
            let session_of =
                |socket: &str| state.members.get(socket).and_then(|m| m.session.as_ref());
            let same_session =
                session_of(holder).is_some_and(|held| session_of(socket) == Some(held));
            if holder != socket && !same_session {
                return Err(ChatError::NicknameTaken);
            }
        }
        let member = state.members.entry(socket.to_owned()).or_default();
        let old = member.nickname.replace(nickname.to_owned());
        let rooms: Vec<String> = member.rooms.iter().cloned().collect();
        if let Some(old) = old.as_ref().map(|old| old.to_lowercase()) {
            if old != key
                && state
                    .nicknames
                    .get(&old)
                    .is_some_and(|holder| holder == socket)
            {
                state.nicknames.remove(&old);
            }
        }
        state.nicknames.insert(key, socket.to_owned());
        let renamed = old.as_deref().is_some_and(|old| old != nickname);
        let updates = if renamed {
            rooms
                .into_iter()
                .map(|room| Presence {
                    members: state.presence(&room),
                    room,
                    joined: None,
                    left: None,
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok((nickname.to_owned(), updates))
    }

    /// Normalises a room name: trimmed, lowercase, runs of spaces as one `-`.
    ///
    /// # Errors
    /// [`ChatError::InvalidRoom`] when the result is empty, longer than
    /// [`MAX_ROOM_CHARS`] or holds other characters than letters, digits,
    /// `-`, `_` and `.`.
    pub fn room_name(raw: &str) -> Result<String, ChatError> {
        let name = raw
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-")
            .to_lowercase();
        let chars = name.chars().count();
        if chars == 0
            || chars > MAX_ROOM_CHARS
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ChatError::InvalidRoom);
        }
        Ok(name)
    }

    /// Puts `socket` in a room (normalised with [`Chat::room_name`]).
    ///
    /// Joining a room the socket is already in succeeds without a presence
    /// update.
    ///
    /// # Errors
    /// [`ChatError::NoNickname`], [`ChatError::InvalidRoom`],
    /// [`ChatError::TooManyRooms`], [`ChatError::ServerFull`].
    pub fn join(&self, socket: &str, raw_room: &str) -> Result<Joined, ChatError> {
        let room = Self::room_name(raw_room)?;
        let mut state = self.lock();
        let nickname = state.nickname_of(socket)?;
        let member = state.members.get(socket).ok_or(ChatError::NoNickname)?;
        if member.rooms.contains(&room) {
            return Ok(Joined {
                room,
                presence: None,
                rooms_changed: false,
            });
        }
        if member.rooms.len() >= MAX_ROOMS_PER_SOCKET {
            return Err(ChatError::TooManyRooms);
        }
        let extra_rooms = state
            .rooms
            .keys()
            .filter(|name| !DEFAULT_ROOMS.contains(&name.as_str()))
            .count();
        if !state.rooms.contains_key(&room)
            && !DEFAULT_ROOMS.contains(&room.as_str())
            && extra_rooms >= MAX_ROOMS
        {
            return Err(ChatError::ServerFull);
        }
        state
            .rooms
            .entry(room.clone())
            .or_default()
            .insert(socket.to_owned());
        if let Some(member) = state.members.get_mut(socket) {
            member.rooms.insert(room.clone());
        }
        let presence = Presence {
            members: state.presence(&room),
            room: room.clone(),
            joined: Some(nickname),
            left: None,
        };
        Ok(Joined {
            room,
            presence: Some(presence),
            rooms_changed: true,
        })
    }

    /// Takes `socket` out of a room and returns the room's presence update.
    ///
    /// # Errors
    /// [`ChatError::InvalidRoom`], [`ChatError::NotInRoom`].
    pub fn leave(&self, socket: &str, raw_room: &str) -> Result<Presence, ChatError> {
        let room = Self::room_name(raw_room)?;
        let mut state = self.lock();
        let member = state.members.get_mut(socket).ok_or(ChatError::NotInRoom)?;
        if !member.rooms.remove(&room) {
            return Err(ChatError::NotInRoom);
        }
        let nickname = member.nickname.clone();
        state.remove_from_room(socket, &room);
        Ok(Presence {
            members: state.presence(&room),
            room,
            joined: None,
            left: nickname,
        })
    }

    /// Checks and stamps a message from `socket` to a room it is in.
    ///
    /// # Errors
    /// [`ChatError::NoNickname`], [`ChatError::InvalidRoom`],
    /// [`ChatError::NotInRoom`], [`ChatError::InvalidMessage`].
    pub fn message(&self, socket: &str, raw_room: &str, text: &str) -> Result<Message, ChatError> {
        let room = Self::room_name(raw_room)?;
        let text = text.trim();
        let chars = text.chars().count();
        if chars == 0 || chars > MAX_MESSAGE_CHARS {
            return Err(ChatError::InvalidMessage);
        }
        let state = self.lock();
        let from = state.nickname_of(socket)?;
        if !state
            .members
            .get(socket)
            .is_some_and(|member| member.rooms.contains(&room))
        {
            return Err(ChatError::NotInRoom);
        }
        Ok(Message {
            room,
            from,
            text: text.to_owned(),
            at: now_millis(),
        })
    }

    /// The typing indicator to pass on, or `None` when `socket` has no
    /// nickname or is not in the room (typing is fire-and-forget).
    pub fn typing(&self, socket: &str, raw_room: &str, typing: bool) -> Option<Typing> {
        let room = Self::room_name(raw_room).ok()?;
        let state = self.lock();
        let member = state.members.get(socket)?;
        if !member.rooms.contains(&room) {
            return None;
        }
        Some(Typing {
            room,
            nickname: member.nickname.clone()?,
            typing,
        })
    }

    /// Forgets a socket that disconnected: frees its nickname and returns the
    /// presence updates of the rooms it was in.
    ///
    /// When another socket of the same session took the nickname over, the
    /// updates say nobody left: the person is still there.
    pub fn disconnect(&self, socket: &str) -> Vec<Presence> {
        let mut state = self.lock();
        let Some(member) = state.members.remove(socket) else {
            return Vec::new();
        };
        let mut left = member.nickname.clone();
        if let Some(key) = member.nickname.as_ref().map(|name| name.to_lowercase()) {
            match state.nicknames.get(&key) {
                Some(holder) if holder == socket => {
                    state.nicknames.remove(&key);
                }
                Some(_) => left = None,
                None => {}
            }
        }
        member
            .rooms
            .into_iter()
            .map(|room| {
                state.remove_from_room(socket, &room);
                Presence {
                    members: state.presence(&room),
                    room,
                    joined: None,
                    left: left.clone(),
                }
            })
            .collect()
    }

    /// The nicknames in a room, sorted and without duplicates (empty for an
    /// unknown or invalid room).
    pub fn presence(&self, raw_room: &str) -> Vec<String> {
        match Self::room_name(raw_room) {
            Ok(room) => self.lock().presence(&room),
            Err(_) => Vec::new(),
        }
    }

    /// The room list: the default rooms and every room with members, by name.
    pub fn rooms(&self) -> Vec<RoomInfo> {
        let state = self.lock();
        let mut rooms: BTreeMap<&str, usize> =
            DEFAULT_ROOMS.iter().map(|name| (*name, 0)).collect();
        for (name, sockets) in &state.rooms {
            rooms.insert(name, sockets.len());
        }
        rooms
            .into_iter()
            .map(|(name, members)| RoomInfo {
                name: name.to_owned(),
                members,
            })
            .collect()
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat_with(nicknames: &[(&str, &str)]) -> Chat {
        let chat = Chat::new();
        for (socket, nickname) in nicknames {
            chat.connect(socket, None);
            assert!(chat.set_nickname(socket, nickname).is_ok());
        }
        chat
    }

    #[test]
    fn a_nickname_is_trimmed_and_checked() {
        let chat = Chat::new();
        chat.connect("s1", None);
        assert_eq!(
            chat.set_nickname("s1", "  ada ").map(|(name, _)| name),
            Ok("ada".to_owned())
        );
        assert_eq!(
            chat.set_nickname("s1", "   ").unwrap_err(),
            ChatError::InvalidNickname
        );
        assert_eq!(
            chat.set_nickname("s1", &"x".repeat(25)).unwrap_err(),
            ChatError::InvalidNickname
        );
        assert_eq!(
            chat.set_nickname("s1", "a\u{7}b").unwrap_err(),
            ChatError::InvalidNickname
        );
        assert!(chat.set_nickname("s1", &"é".repeat(24)).is_ok());
    }

    #[test]
    fn a_nickname_in_use_is_refused_whatever_its_case() {
        let chat = chat_with(&[("s1", "Ada")]);
        chat.connect("s2", None);
        assert_eq!(
            chat.set_nickname("s2", "ada").unwrap_err(),
            ChatError::NicknameTaken
        );
        assert!(
            chat.set_nickname("s1", "ADA").is_ok(),
            "its holder may change its case"
        );
    }

    #[test]
    fn a_nickname_is_freed_by_a_rename_and_by_a_disconnect() {
        let chat = chat_with(&[("s1", "ada"), ("s2", "bob")]);
        assert!(chat.set_nickname("s1", "grace").is_ok());
        assert!(chat.set_nickname("s2", "ada").is_ok());
        chat.disconnect("s1");
        chat.connect("s3", None);
        assert!(chat.set_nickname("s3", "grace").is_ok());
    }

    #[test]
    fn rooms_need_a_nickname() {
        let chat = Chat::new();
        chat.connect("s1", None);
        assert_eq!(
            chat.join("s1", "general").unwrap_err(),
            ChatError::NoNickname
        );
        assert_eq!(
            chat.message("s1", "general", "hi").unwrap_err(),
            ChatError::NoNickname
        );
    }

    #[test]
    fn room_names_are_normalised_and_checked() {
        assert_eq!(
            Chat::room_name("  Rust   Fans "),
            Ok("rust-fans".to_owned())
        );
        assert_eq!(Chat::room_name("café_2.0"), Ok("café_2.0".to_owned()));
        assert_eq!(Chat::room_name(""), Err(ChatError::InvalidRoom));
        assert_eq!(Chat::room_name("a/b"), Err(ChatError::InvalidRoom));
        assert_eq!(
            Chat::room_name(&"r".repeat(33)),
            Err(ChatError::InvalidRoom)
        );
    }

    #[test]
    fn joining_reports_who_is_in_the_room() {
        let chat = chat_with(&[("s1", "ada"), ("s2", "bob")]);
        let first = chat.join("s1", "lobby").unwrap();
        assert_eq!(
            first.presence.map(|p| p.members),
            Some(vec!["ada".to_owned()])
        );
        let second = chat.join("s2", "Lobby").unwrap();
        let presence = second.presence.unwrap();
        assert_eq!(presence.members, vec!["ada".to_owned(), "bob".to_owned()]);
        assert_eq!(presence.joined.as_deref(), Some("bob"));
        let again = chat.join("s2", "lobby").unwrap();
        assert_eq!(again.presence, None, "joining twice changes nothing");
    }

    #[test]
    fn leaving_and_disconnecting_update_presence_and_the_room_list() {
        let chat = chat_with(&[("s1", "ada"), ("s2", "bob")]);
        chat.join("s1", "lobby").unwrap();
        chat.join("s2", "lobby").unwrap();
        chat.join("s2", "general").unwrap();
        let lobby = |chat: &Chat| {
            chat.rooms()
                .into_iter()
                .find(|room| room.name == "lobby")
                .map(|room| room.members)
        };
        assert_eq!(lobby(&chat), Some(2));

        let left = chat.leave("s1", "lobby").unwrap();
        assert_eq!(
            (left.left.as_deref(), left.members.clone()),
            (Some("ada"), vec!["bob".to_owned()])
        );
        assert_eq!(chat.leave("s1", "lobby").unwrap_err(), ChatError::NotInRoom);

        let gone = chat.disconnect("s2");
        let rooms: Vec<&str> = gone.iter().map(|p| p.room.as_str()).collect();
        assert_eq!(rooms, ["general", "lobby"]);
        assert!(gone
            .iter()
            .all(|p| p.left.as_deref() == Some("bob") && p.members.is_empty()));
        assert_eq!(lobby(&chat), None, "an empty room is no longer listed");
        let names: Vec<String> = chat.rooms().into_iter().map(|room| room.name).collect();
        assert_eq!(names, ["general", "random"], "default rooms stay listed");
    }

    #[test]
    fn messages_go_only_to_rooms_the_sender_is_in() {
        let chat = chat_with(&[("s1", "ada")]);
        assert_eq!(
            chat.message("s1", "lobby", "hi").unwrap_err(),
            ChatError::NotInRoom
        );
        chat.join("s1", "lobby").unwrap();
        assert_eq!(
            chat.message("s1", "lobby", "  ").unwrap_err(),
            ChatError::InvalidMessage
        );
        assert_eq!(
            chat.message("s1", "lobby", &"m".repeat(2001)).unwrap_err(),
            ChatError::InvalidMessage
        );
        let message = chat.message("s1", "LOBBY", " hello ").unwrap();
        assert_eq!(
            (
                message.room.as_str(),
                message.from.as_str(),
                message.text.as_str()
            ),
            ("lobby", "ada", "hello")
        );
        assert!(
            message.at > 1_600_000_000_000,
            "stamped with the wall clock in ms"
        );
    }

    #[test]
    fn typing_is_passed_on_only_from_members() {
        let chat = chat_with(&[("s1", "ada")]);
        assert_eq!(chat.typing("s1", "lobby", true), None);
        chat.join("s1", "lobby").unwrap();
        let typing = chat.typing("s1", "lobby", true).unwrap();
        assert_eq!((typing.nickname.as_str(), typing.typing), ("ada", true));
    }

    #[test]
    fn a_socket_is_limited_in_how_many_rooms_it_joins() {
        let chat = chat_with(&[("s1", "ada")]);
        for i in 0..MAX_ROOMS_PER_SOCKET {
            chat.join("s1", &format!("room-{i}")).unwrap();
        }
        assert_eq!(
            chat.join("s1", "one-more").unwrap_err(),
            ChatError::TooManyRooms
        );
    }

    #[test]
    fn a_rename_updates_the_presence_of_every_room() {
        let chat = chat_with(&[("s1", "ada")]);
        chat.join("s1", "lobby").unwrap();
        let (_, updates) = chat.set_nickname("s1", "grace").unwrap();
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].members, vec!["grace".to_owned()]);
    }

    #[test]
    fn a_reconnecting_page_takes_its_nickname_over_from_its_stale_socket() {
        let chat = Chat::new();
        let session = Some("0123456789abcdef0123");
        chat.connect("old", session);
        chat.set_nickname("old", "ada").unwrap();
        chat.join("old", "lobby").unwrap();

        chat.connect("stranger", Some("ffffffffffffffffffff"));
        assert_eq!(
            chat.set_nickname("stranger", "ada").unwrap_err(),
            ChatError::NicknameTaken
        );
        chat.connect("new", session);
        assert!(chat.set_nickname("new", "ada").is_ok());
        chat.join("new", "lobby").unwrap();
        assert_eq!(chat.presence("lobby"), ["ada"], "one person, listed once");

        let updates = chat.disconnect("old");
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].left, None, "ada is still there");
        assert_eq!(updates[0].members, ["ada"]);
        assert_eq!(
            chat.set_nickname("stranger", "ada").unwrap_err(),
            ChatError::NicknameTaken
        );
    }

    #[test]
    fn a_malformed_session_counts_as_none() {
        let chat = Chat::new();
        chat.connect("s1", Some("short"));
        chat.set_nickname("s1", "ada").unwrap();
        chat.connect("s2", Some("short"));
        assert_eq!(
            chat.set_nickname("s2", "ada").unwrap_err(),
            ChatError::NicknameTaken
        );
    }
}
