//! The logs of all persistent clients of one namespace, by client id.
//!
//! Owns which logs exist, their epochs, and the eviction of logs whose client
//! stayed away longer than the TTL; it must not interpret events or acks
//! (that is [`ClientLog`]'s job).

use std::collections::HashMap;
use std::fmt;
use std::time::Instant;

use super::{AtLeastOnce, ClientLog, LogStats};

/// Every persistent client's [`ClientLog`] in one namespace.
///
/// Counters survive eviction: [`stats`](Self::stats) adds up the live logs
/// and everything the evicted ones had counted.
pub(crate) struct ClientLogs<T> {
    config: AtLeastOnce,
    logs: HashMap<String, ClientLog<T>>,
    next_epoch: u64,
    evicted: LogStats,
}

impl<T> fmt::Debug for ClientLogs<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientLogs")
            .field("config", &self.config)
            .field("clients", &self.logs.len())
            .field("evicted", &self.evicted)
            .finish_non_exhaustive()
    }
}

impl<T: Clone> ClientLogs<T> {
    /// An empty registry. Epochs start at a random value so that a log
    /// created after a restart of the process does not reuse an epoch a
    /// client remembers.
    pub(crate) fn new(config: AtLeastOnce) -> Self {
        Self::with_epoch_seed(config, rand::random())
    }

    /// An empty registry whose first log gets epoch `seed` (then `seed + 1`,
    /// wrapping): for deterministic tests.
    pub(crate) fn with_epoch_seed(config: AtLeastOnce, seed: u64) -> Self {
        Self {
            config,
            logs: HashMap::new(),
            next_epoch: seed,
            evicted: LogStats::default(),
        }
    }

    /// The settings every log is made with.
    pub(crate) fn config(&self) -> &AtLeastOnce {
        &self.config
    }

    /// The client's log, made (detached, empty, with a fresh epoch) if it has
    /// none.
    pub(crate) fn get_or_create(&mut self, client_id: &str, now: Instant) -> &mut ClientLog<T> {
        let config = &self.config;
        let next_epoch = &mut self.next_epoch;
        self.logs.entry(client_id.to_owned()).or_insert_with(|| {
            let epoch = *next_epoch;
            *next_epoch = next_epoch.wrapping_add(1);
            ClientLog::new(config, epoch, now)
        })
    }

    /// The client's log, if it has one.
    pub(crate) fn get(&self, client_id: &str) -> Option<&ClientLog<T>> {
        self.logs.get(client_id)
    }

    /// The client's log, if it has one, to append, ack or send.
    pub(crate) fn get_mut(&mut self, client_id: &str) -> Option<&mut ClientLog<T>> {
        self.logs.get_mut(client_id)
    }

    /// Forgets the client's log now (its counters are kept).
    pub(crate) fn remove(&mut self, client_id: &str) -> Option<ClientLog<T>> {
        let log = self.logs.remove(client_id)?;
        self.account_evicted(&log);
        Some(log)
    }

    /// How many clients have a log.
    pub(crate) fn len(&self) -> usize {
        self.logs.len()
    }

    /// Whether no client has a log.
    pub(crate) fn is_empty(&self) -> bool {
        self.logs.is_empty()
    }

    /// Every client id with its log, in no particular order.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut ClientLog<T>)> {
        self.logs.iter_mut().map(|(id, log)| (id.as_str(), log))
    }

    /// Runs [`ClientLog::expire`] on every log; returns how many events that
    /// dropped in all.
    pub(crate) fn expire_all(&mut self, now: Instant) -> usize {
        self.logs.values_mut().map(|log| log.expire(now)).sum()
    }

    /// Forgets the logs of clients absent for `client_ttl` or longer and
    /// returns their ids. Attached clients are never evicted.
    pub(crate) fn evict_absent(&mut self, now: Instant) -> Vec<String> {
        let ttl = self.config.client_ttl();
        let gone: Vec<String> = self
            .logs
            .iter()
            .filter(|(_, log)| {
                log.absent_since()
                    .is_some_and(|since| now.saturating_duration_since(since) >= ttl)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in &gone {
            if let Some(log) = self.logs.remove(id) {
                self.account_evicted(&log);
            }
        }
        gone
    }

    /// The counters of every log, live or evicted, added up.
    pub(crate) fn stats(&self) -> LogStats {
        let mut total = self.evicted;
        for log in self.logs.values() {
            total.add(&log.stats());
        }
        total
    }

    fn account_evicted(&mut self, log: &ClientLog<T>) {
        let mut stats = log.stats();
        stats.dropped_by_eviction += stats.retained;
        stats.retained = 0;
        self.evicted.add(&stats);
    }
}
