//! Socket ids: unguessable 20-character base64url strings, as Socket.IO uses.
//!
//! Owns id generation only; it must not know about namespaces or queues.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;

/// The unique, unguessable id of one socket (20 base64url characters).
///
/// A socket joins the room named by its own id, so `ns.to(id.as_str())`
/// reaches exactly that socket.
///
/// # Examples
///
/// ```
/// # let bus = bus_core::Bus::start();
/// # let ns = bus.of("/");
/// let client = futures::executor::block_on(ns.connect(Default::default())).unwrap();
/// assert_eq!(client.id().as_str().len(), 20);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(Arc<str>);

impl SocketId {
    /// Draws a fresh id from the thread-local CSPRNG (15 random bytes).
    pub(crate) fn random() -> Self {
        let mut bytes = [0u8; 15];
        rand::thread_rng().fill_bytes(&mut bytes);
        SocketId(Arc::from(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The id as text (also the name of the socket's own room).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SocketId({})", &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_twenty_url_safe_characters_and_distinct() {
        let ids: HashSet<String> = (0..1000).map(|_| SocketId::random().to_string()).collect();
        assert_eq!(ids.len(), 1000);
        for id in ids {
            assert_eq!(id.len(), 20);
            assert!(id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        }
    }
}
