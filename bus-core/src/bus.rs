//! The [`Bus`] handle: starts the actor runtime on its own thread and keeps
//! the registry of namespaces (exact and dynamic).
//!
//! Owns startup, shutdown and namespace lookup; it must not fan out or hold
//! socket state.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix::prelude::{Arbiter, ArbiterHandle, System};
use regex::Regex;

use crate::config::NamespaceConfig;
use crate::connection::Handshake;
use crate::dispatch::Dispatcher;
use crate::error::ConnectError;
use crate::metrics::NamespaceMetrics;
use crate::namespace::{Hooks, Namespace};
use crate::socket::Socket;
use crate::timer::Timer;

/// The bus runtime: the namespace arbiter, the worker arbiters that run
/// socket actors (user handlers), and one client dispatcher per worker.
#[derive(Debug)]
pub(crate) struct Runtime {
    pub(crate) main: ArbiterHandle,
    workers: Vec<ArbiterHandle>,
    next: AtomicUsize,
    dispatchers: Vec<Arc<Dispatcher>>,
    next_dispatcher: AtomicUsize,
    pub(crate) timer: Timer,
    /// See [`BusBuilder::remote_sockets_on_caller`].
    pub(crate) remote_sockets_on_caller: bool,
}

impl Runtime {
    pub(crate) fn worker(&self) -> ArbiterHandle {
        if self.workers.is_empty() {
            return self.main.clone();
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.workers.len();
        self.workers[i].clone()
    }

    /// The dispatcher for a new in-process client (round robin over workers).
    pub(crate) fn dispatcher(&self) -> Arc<Dispatcher> {
        let i = self.next_dispatcher.fetch_add(1, Ordering::Relaxed) % self.dispatchers.len();
        self.dispatchers[i].clone()
    }

    /// The dispatchers, indexed by shard number.
    pub(crate) fn shards(&self) -> &[Arc<Dispatcher>] {
        &self.dispatchers
    }
}

/// Matches names of dynamic namespaces.
#[derive(Clone)]
pub enum NamespaceMatcher {
    /// A regular expression over the whole name (anchor it yourself).
    Regex(Regex),
    /// Any predicate.
    Predicate(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

impl fmt::Debug for NamespaceMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamespaceMatcher::Regex(r) => write!(f, "Regex({})", r.as_str()),
            NamespaceMatcher::Predicate(_) => f.write_str("Predicate(..)"),
        }
    }
}

impl NamespaceMatcher {
    /// A matcher from a regex pattern.
    ///
    /// # Errors
    /// The pattern's compile error.
    pub fn regex(pattern: &str) -> Result<Self, regex::Error> {
        Ok(NamespaceMatcher::Regex(Regex::new(pattern)?))
    }

    /// A matcher from a predicate.
    pub fn predicate(f: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        NamespaceMatcher::Predicate(Arc::new(f))
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            NamespaceMatcher::Regex(r) => r.is_match(name),
            NamespaceMatcher::Predicate(p) => p(name),
        }
    }
}

/// A family of namespaces created on demand when a name matches.
///
/// Each matching name becomes its own [`Namespace`] (own sockets, own
/// rooms) sharing this parent's config, middleware and connection handlers.
///
/// # Examples
///
/// ```
/// use bus_core::{Bus, NamespaceMatcher};
/// let bus = Bus::start();
/// let tenants = bus.dynamic(NamespaceMatcher::regex(r"^/tenant-\d+$").unwrap());
/// tenants.on_connection(|socket| { let _ = socket.join("all"); });
/// let t1 = bus.namespace("/tenant-1").unwrap();
/// assert_eq!(t1.name(), "/tenant-1");
/// assert!(bus.namespace("/other").is_none());
/// ```
#[derive(Clone)]
pub struct DynamicNamespace {
    matcher: NamespaceMatcher,
    config: NamespaceConfig,
    hooks: Arc<Hooks>,
}

impl fmt::Debug for DynamicNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamicNamespace")
            .field("matcher", &self.matcher)
            .finish()
    }
}

impl DynamicNamespace {
    /// Registers a connection handler for every child (present and future).
    pub fn on_connection<F>(&self, handler: F)
    where
        F: Fn(Socket) + Send + Sync + 'static,
    {
        self.hooks.add_connection(Arc::new(handler));
    }

    /// Adds a connect middleware for every child.
    pub fn use_middleware<F>(&self, middleware: F)
    where
        F: Fn(&Handshake) -> Result<(), ConnectError> + Send + Sync + 'static,
    {
        self.hooks.add_middleware(Arc::new(middleware));
    }
}

struct BusInner {
    rt: Arc<Runtime>,
    system: System,
    default_config: NamespaceConfig,
    namespaces: RwLock<HashMap<String, Namespace>>,
    dynamic: RwLock<Vec<DynamicNamespace>>,
}

impl Drop for BusInner {
    fn drop(&mut self) {
        self.system.stop();
    }
}

/// Configures and starts a [`Bus`].
#[derive(Debug, Clone)]
pub struct BusBuilder {
    workers: usize,
    default_config: NamespaceConfig,
    remote_sockets_on_caller: bool,
}

impl BusBuilder {
    /// Worker threads for socket and client actors, i.e. for user handlers (default 2).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// Runs each remote socket's actor (so its server-side handlers) on the
    /// actix arbiter of the thread that connects it, when there is one,
    /// instead of on a bus worker (default: false).
    ///
    /// A gateway connects sockets from its HTTP worker threads, so with this
    /// set an event from a browser reaches its handler without a thread hop,
    /// which shortens every round trip. The price: handlers then share the
    /// worker with that worker's connections, so a handler that blocks
    /// delays them (with the default, it delays the other sockets of its bus
    /// worker instead). `bus-server` sets it.
    ///
    /// # Examples
    ///
    /// ```
    /// let bus = bus_core::Bus::builder().remote_sockets_on_caller(true).start();
    /// assert!(bus.namespace("/").is_some());
    /// ```
    pub fn remote_sockets_on_caller(mut self, on_caller: bool) -> Self {
        self.remote_sockets_on_caller = on_caller;
        self
    }

    /// The config of namespaces made by [`Bus::of`] (and of `/`).
    pub fn default_config(mut self, config: NamespaceConfig) -> Self {
        self.default_config = config;
        self
    }

    /// Starts the bus on its own thread (its own actix `System`).
    ///
    /// # Errors
    /// The OS error when the bus thread cannot be spawned.
    pub fn try_start(self) -> std::io::Result<Bus> {
        let (tx, rx) = std::sync::mpsc::channel();
        let workers = self.workers;
        std::thread::Builder::new()
            .name("bus-core".into())
            .spawn(move || {
                let sys = System::new();
                let arbiters: Vec<Arbiter> =
                    sys.block_on(async { (0..workers).map(|_| Arbiter::new()).collect() });
                let handles: Vec<ArbiterHandle> = arbiters.iter().map(|a| a.handle()).collect();
                let _ = tx.send((System::current(), Arbiter::current(), handles));
                let _ = sys.run();
                for a in arbiters {
                    a.stop();
                }
            })?;
        let (system, main, workers) = rx
            .recv()
            .map_err(|_| std::io::Error::other("bus thread stopped during startup"))?;
        let dispatchers = if workers.is_empty() {
            vec![Dispatcher::start(&main, 0)]
        } else {
            workers
                .iter()
                .enumerate()
                .map(|(i, w)| Dispatcher::start(w, i))
                .collect()
        };
        let rt = Arc::new(Runtime {
            timer: Timer::new(main.clone()),
            main,
            workers,
            next: AtomicUsize::new(0),
            dispatchers,
            next_dispatcher: AtomicUsize::new(0),
            remote_sockets_on_caller: self.remote_sockets_on_caller,
        });
        let bus = Bus {
            inner: Arc::new(BusInner {
                rt,
                system,
                default_config: self.default_config,
                namespaces: RwLock::new(HashMap::new()),
                dynamic: RwLock::new(Vec::new()),
            }),
        };
        bus.of("/");
        Ok(bus)
    }

    /// Starts the bus.
    ///
    /// # Panics
    /// When the OS cannot spawn the bus thread (see [`try_start`](Self::try_start)).
    pub fn start(self) -> Bus {
        match self.try_start() {
            Ok(bus) => bus,
            Err(e) => panic!("bus-core could not start its thread: {e}"),
        }
    }
}

/// The handle to a running bus (cheap to clone; `Send + Sync`).
///
/// The bus runs its actors on a dedicated thread with its own actix
/// `System`, so it behaves the same when started from an actix System, a
/// tokio runtime or plain synchronous code; every future it returns can be
/// awaited from any executor. It stops when the last handle is dropped (or
/// on [`shutdown`](Self::shutdown)).
///
/// # Examples
///
/// ```
/// let bus = bus_core::Bus::start();
/// assert!(bus.namespace("/").is_some());
/// let orders = bus.of("/orders");
/// assert_eq!(bus.namespace("/orders").unwrap().name(), orders.name());
/// ```
#[derive(Clone)]
pub struct Bus {
    inner: Arc<BusInner>,
}

impl fmt::Debug for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.read().keys().cloned().collect();
        f.debug_struct("Bus").field("namespaces", &names).finish()
    }
}

fn normalize(name: &str) -> String {
    if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("/{name}")
    }
}

impl Bus {
    /// A builder (workers, default namespace config).
    pub fn builder() -> BusBuilder {
        BusBuilder {
            workers: 2,
            default_config: NamespaceConfig::default(),
            remote_sockets_on_caller: false,
        }
    }

    /// Starts a bus with the defaults.
    ///
    /// # Panics
    /// When the OS cannot spawn the bus thread.
    pub fn start() -> Bus {
        Bus::builder().start()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Namespace>> {
        self.inner
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The namespace `name`, created with the default config if missing.
    pub fn of(&self, name: &str) -> Namespace {
        self.of_with(name, self.inner.default_config)
    }

    /// The namespace `name`, created with `config` if missing (an existing
    /// namespace keeps its config).
    pub fn of_with(&self, name: &str, config: NamespaceConfig) -> Namespace {
        let name = normalize(name);
        if let Some(ns) = self.read().get(&name) {
            return ns.clone();
        }
        self.create(name, config, Arc::new(Hooks::default()))
    }

    fn create(&self, name: String, config: NamespaceConfig, hooks: Arc<Hooks>) -> Namespace {
        let mut map = self
            .inner
            .namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(ns) = map.get(&name) {
            return ns.clone();
        }
        tracing::debug!(ns = %name, "namespace created");
        let ns = Namespace::start(name.clone(), config, hooks, self.inner.rt.clone());
        map.insert(name, ns.clone());
        ns
    }

    /// Looks a namespace up: an existing one, or a new child of the first
    /// dynamic namespace whose matcher accepts `name`. `None` means the
    /// gateway answers "Invalid namespace".
    pub fn namespace(&self, name: &str) -> Option<Namespace> {
        if let Some(ns) = self.read().get(name) {
            return Some(ns.clone());
        }
        let parent = self
            .inner
            .dynamic
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|d| d.matcher.matches(name))
            .cloned()?;
        Some(self.create(name.to_owned(), parent.config, parent.hooks))
    }

    /// Registers a dynamic namespace family with the default config.
    pub fn dynamic(&self, matcher: NamespaceMatcher) -> DynamicNamespace {
        self.dynamic_with(matcher, self.inner.default_config)
    }

    /// Registers a dynamic namespace family whose children use `config`.
    pub fn dynamic_with(
        &self,
        matcher: NamespaceMatcher,
        config: NamespaceConfig,
    ) -> DynamicNamespace {
        let d = DynamicNamespace {
            matcher,
            config,
            hooks: Arc::new(Hooks::default()),
        };
        self.inner
            .dynamic
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(d.clone());
        d
    }

    /// Counters of every namespace, sorted by name.
    pub fn metrics(&self) -> Vec<NamespaceMetrics> {
        let mut all: Vec<NamespaceMetrics> = self.read().values().map(|ns| ns.metrics()).collect();
        all.sort_by(|a, b| a.namespace.cmp(&b.namespace));
        all
    }

    /// Disconnects every socket (`server shutting down`), gives their
    /// handlers a moment, then stops the bus thread.
    pub fn shutdown(&self) -> impl Future<Output = ()> + Send + 'static {
        let all: Vec<Namespace> = self.read().values().cloned().collect();
        let timer = self.inner.rt.timer.clone();
        let system = self.inner.system.clone();
        async move {
            for ns in all {
                ns.shutdown().await;
            }
            timer.sleep(Duration::from_millis(100)).await;
            system.stop();
        }
    }
}
