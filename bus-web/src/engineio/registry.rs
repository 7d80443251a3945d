//! The live sessions of one Engine.IO mount: sid → session address.
//!
//! This module owns [`Registry`], a lock-free `DashMap`. It must not touch
//! session state: entries are cloned out and every guard is dropped before
//! the caller sends anything, so no guard is ever held across an `.await` or
//! another access to the map.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use actix::Addr;
use dashmap::DashMap;

use super::session::Session;

/// What a request needs to reach a session.
#[derive(Debug, Clone)]
pub(crate) struct SessionEntry {
    pub(crate) addr: Addr<Session>,
    /// Set while a long-polling POST of this session is being handled, so an
    /// overlapping POST can be refused without asking the session.
    pub(crate) post_busy: Arc<AtomicBool>,
}

/// The live sessions of one mount.
#[derive(Debug, Clone, Default)]
pub(crate) struct Registry {
    sessions: Arc<DashMap<Arc<str>, SessionEntry>>,
}

impl Registry {
    pub(crate) fn insert(&self, sid: Arc<str>, entry: SessionEntry) {
        self.sessions.insert(sid, entry);
    }

    pub(crate) fn get(&self, sid: &str) -> Option<SessionEntry> {
        self.sessions.get(sid).map(|entry| entry.value().clone())
    }

    pub(crate) fn remove(&self, sid: &str) {
        self.sessions.remove(sid);
    }

    pub(crate) fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Every live session's address, cloned out of the map.
    pub(crate) fn addresses(&self) -> Vec<Addr<Session>> {
        self.sessions
            .iter()
            .map(|entry| entry.value().addr.clone())
            .collect()
    }
}
