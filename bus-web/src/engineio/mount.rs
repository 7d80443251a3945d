//! Mounting an Engine.IO endpoint on an actix-web `App`.
//!
//! This module owns [`EngineIo`]: the route at the configured path, the
//! query-parameter checks that pick a transport, CORS on every response,
//! and shutting every session down. It must not touch session state or the
//! wire format.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};

use super::config::EngineConfig;
use super::error::RequestError;
use super::handler::{CloseReason, EngineHandler, HandshakeRequest};
use super::registry::Registry;
use super::session::{close_all, EngineShared};
use super::upgrade::WebSocketUpgrade;
use super::{cors, polling, websocket};

/// One Engine.IO endpoint: a path, its settings, its handler and its live
/// sessions. Cheap to clone; clones share the sessions.
///
/// Several endpoints can be mounted on one `App` (for example Socket.IO at
/// `/socket.io/` and a bare echo endpoint at `/engine.io/`), each with its
/// own handler and sessions.
///
/// Build the `HttpServer` with `.h1_allow_half_closed(false)`: a client
/// that aborts a pending long-polling GET is then noticed at once and its
/// session closed; otherwise it is noticed only when its pong goes missing.
///
/// # Examples
///
/// ```no_run
/// use std::sync::Arc;
/// use actix_web::{App, HttpServer};
/// use bus_web::engineio::{EchoHandler, EngineConfig, EngineIo};
///
/// # async fn run() -> std::io::Result<()> {
/// let engine = EngineIo::new(EngineConfig::default(), Arc::new(EchoHandler));
/// let for_app = engine.clone();
/// let server = HttpServer::new(move || App::new().configure(for_app.configure()))
///     .h1_allow_half_closed(false)
///     .bind(("127.0.0.1", 3000))?
///     .run();
/// let handle = server.handle();
/// // ... later, on shutdown:
/// # actix_rt::spawn(async move {
/// engine.shutdown();
/// handle.stop(true).await;
/// # });
/// server.await
/// # }
/// ```
#[derive(Clone)]
pub struct EngineIo {
    shared: Arc<EngineShared>,
}

impl std::fmt::Debug for EngineIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineIo")
            .field("shared", &self.shared)
            .finish()
    }
}

impl EngineIo {
    /// An endpoint that serves `config.path` and drives `handler`.
    pub fn new(config: EngineConfig, handler: Arc<dyn EngineHandler>) -> Self {
        Self {
            shared: Arc::new(EngineShared {
                config: Arc::new(config),
                handler,
                registry: Registry::default(),
            }),
        }
    }

    /// The endpoint's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// A function for `App::configure` that registers the endpoint's route
    /// (the configured path, with and without its trailing slash).
    pub fn configure(&self) -> impl Fn(&mut web::ServiceConfig) + Clone + 'static {
        let shared = self.shared.clone();
        move |config: &mut web::ServiceConfig| {
            let path = shared.config.path.clone();
            let trimmed = path.trim_end_matches('/').to_owned();
            let mut paths = vec![path];
            if !trimmed.is_empty() && !paths.contains(&trimmed) {
                paths.push(trimmed);
            }
            let shared = shared.clone();
            config.service(web::resource(paths).route(web::route().to(
                move |req: HttpRequest, body: web::Payload| dispatch(shared.clone(), req, body),
            )));
        }
    }

    /// The lean WebSocket transport of this endpoint, for a server built
    /// with actix-http's `HttpServiceBuilder::upgrade`: WebSocket
    /// connections then skip actix-http's HTTP/1 dispatcher and its 16 KB of
    /// buffers per connection (see `bus-server` for a complete server). The
    /// route registered by [`EngineIo::configure`] still serves polling and
    /// any WebSocket request that does not come through the upgrade hook.
    pub fn websocket_upgrade(&self) -> WebSocketUpgrade {
        WebSocketUpgrade::new(self.shared.clone())
    }

    /// How many sessions are live.
    pub fn session_count(&self) -> usize {
        self.shared.registry.len()
    }

    /// Close every live session with [`CloseReason::ServerShutdown`]; each
    /// session's transport is closed and its handler's `on_close` runs once.
    /// Returns at once; [`EngineIo::session_count`] reaches 0 as sessions
    /// finish.
    pub fn shutdown(&self) {
        close_all(&self.shared.registry, &CloseReason::ServerShutdown);
    }
}

async fn dispatch(shared: Arc<EngineShared>, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let mut response = route(&shared, &req, body).await;
    cors::apply(&shared.config.cors, &req, &mut response);
    response
}

async fn route(shared: &Arc<EngineShared>, req: &HttpRequest, body: web::Payload) -> HttpResponse {
    if req.method() == Method::OPTIONS {
        return cors::preflight(req);
    }
    let Ok(query) = web::Query::<HashMap<String, String>>::from_query(req.query_string()) else {
        return RequestError::BadRequest.response();
    };
    let transport = query.get("transport").map(String::as_str);
    if !matches!(transport, Some("polling" | "websocket")) {
        return RequestError::UnknownTransport.response();
    }
    if query.get("EIO").map(String::as_str) != Some("4") {
        return RequestError::UnsupportedProtocolVersion.response();
    }
    let sid = query.get("sid").cloned();
    if transport == Some("websocket") {
        if req.method() != Method::GET {
            return RequestError::BadRequest.response();
        }
        let request = handshake_request(req, query.into_inner());
        return websocket::handle(shared.clone(), req.clone(), body, sid, request).await;
    }
    let Some(sid) = sid else {
        if req.method() != Method::GET {
            return RequestError::BadHandshakeMethod.response();
        }
        return polling::handshake(shared, handshake_request(req, query.into_inner()));
    };
    let Some(entry) = shared.registry.get(&sid) else {
        return RequestError::UnknownSid.response();
    };
    match *req.method() {
        Method::GET => polling::get(entry).await,
        Method::POST => polling::post(shared, entry, req, body).await,
        _ => RequestError::BadRequest.response(),
    }
}

fn handshake_request(req: &HttpRequest, query: HashMap<String, String>) -> HandshakeRequest {
    HandshakeRequest {
        query: Arc::new(query),
        headers: Arc::new(headers_map(req.headers())),
        address: req.peer_addr(),
    }
}

/// Request headers with lowercase names; repeated headers joined with `, `.
pub(crate) fn headers_map(map: &actix_web::http::header::HeaderMap) -> HashMap<String, String> {
    let mut headers: HashMap<String, String> = HashMap::new();
    for (name, value) in map {
        let Ok(value) = value.to_str() else {
            continue;
        };
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    headers
}
