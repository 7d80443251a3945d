//! The WebSocket transport: one actor per WebSocket connection.
//!
//! This is the only module that imports `actix-web-actors` (deprecated
//! upstream in favour of `actix-ws`), so replacing it stays local. It owns
//! the WebSocket handshake (direct, or upgrading a polling session by sid),
//! frame decoding and the batched frame writes. It must not touch session
//! state: it forwards decoded packets to the session actor and writes the
//! batches the session sends it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use bytes::BytesMut;

use super::error::RequestError;
use super::handler::{CloseReason, HandshakeRequest};
use super::packet::{decode_binary, decode_text, into_frame, Frame, Packet};
use super::session::{
    AttachWebSocket, CloseConnection, EngineShared, Session, SessionStarter, WriteFrames, WsGone,
    WsInbound, WsLink,
};

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh id for a WebSocket connection (of either transport).
pub(crate) fn next_connection_id() -> u64 {
    NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed)
}

/// A fragmented message being reassembled.
struct Fragments {
    binary: bool,
    data: BytesMut,
}

/// One WebSocket connection.
pub(crate) struct WsConnection {
    id: u64,
    session: Addr<Session>,
    max_payload: usize,
    /// The reason reported to the session when this connection ends.
    exit: CloseReason,
    fragments: Option<Fragments>,
}

impl std::fmt::Debug for WsConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsConnection")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl WsConnection {
    fn new(session: Addr<Session>, max_payload: usize) -> Self {
        Self {
            id: next_connection_id(),
            session,
            max_payload,
            exit: CloseReason::ClientClose,
            fragments: None,
        }
    }

    fn fail(&mut self, reason: CloseReason, ctx: &mut ws::WebsocketContext<Self>) {
        tracing::debug!(conn = self.id, %reason, "closing websocket connection");
        self.exit = reason;
        let code = match self.exit {
            CloseReason::ParseError => ws::CloseCode::Invalid,
            _ => ws::CloseCode::Protocol,
        };
        ctx.close(Some(code.into()));
        ctx.stop();
    }

    /// Hand a packet to the session and read nothing more until it is
    /// handled, and, when the layer above is full, until it has taken it: a
    /// client that floods is slowed down (TCP pushes back), never buffered
    /// without bound nor dropped.
    fn forward(&mut self, packet: Packet, ctx: &mut ws::WebsocketContext<Self>) {
        let inbound = WsInbound {
            conn_id: self.id,
            packet,
        };
        ctx.wait(self.session.send(inbound).into_actor(self).map(
            |result, act, ctx| match result {
                Ok(None) => {}
                // Err: the session closed; it closes this connection.
                Ok(Some(wait)) => ctx.wait(wait.into_actor(act).map(|_, _, _| {})),
                Err(_) => ctx.stop(),
            },
        ));
    }

    fn on_text(&mut self, text: &str, ctx: &mut ws::WebsocketContext<Self>) {
        match decode_text(text) {
            Ok(packet) => self.forward(packet, ctx),
            Err(error) => {
                tracing::debug!(conn = self.id, %error, "invalid packet");
                self.fail(CloseReason::ParseError, ctx);
            }
        }
    }

    fn on_fragment(&mut self, item: actix_http::ws::Item, ctx: &mut ws::WebsocketContext<Self>) {
        let (first, data, last) = match item {
            actix_http::ws::Item::FirstText(data) => (Some(false), data, false),
            actix_http::ws::Item::FirstBinary(data) => (Some(true), data, false),
            actix_http::ws::Item::Continue(data) => (None, data, false),
            actix_http::ws::Item::Last(data) => (None, data, true),
        };
        if let Some(binary) = first {
            if self.fragments.is_some() {
                return self.fail(CloseReason::TransportError, ctx);
            }
            self.fragments = Some(Fragments {
                binary,
                data: BytesMut::new(),
            });
        }
        let Some(fragments) = self.fragments.as_mut() else {
            return self.fail(CloseReason::TransportError, ctx);
        };
        if fragments.data.len() + data.len() > self.max_payload {
            return self.fail(CloseReason::TransportError, ctx);
        }
        fragments.data.extend_from_slice(&data);
        if !last {
            return;
        }
        let Some(Fragments { binary, data }) = self.fragments.take() else {
            return;
        };
        if binary {
            self.forward(decode_binary(data.freeze()), ctx);
        } else {
            match std::str::from_utf8(&data) {
                Ok(text) => self.on_text(text, ctx),
                Err(_) => self.fail(CloseReason::ParseError, ctx),
            }
        }
    }
}

impl Actor for WsConnection {
    type Context = ws::WebsocketContext<Self>;

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        // A control message on the exit path, not fan-out.
        self.session.do_send(WsGone {
            conn_id: self.id,
            reason: self.exit.clone(),
        });
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsConnection {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match item {
            Ok(ws::Message::Text(text)) => self.on_text(&text, ctx),
            Ok(ws::Message::Binary(data)) => self.forward(decode_binary(data), ctx),
            Ok(ws::Message::Continuation(item)) => self.on_fragment(item, ctx),
            Ok(ws::Message::Ping(data)) => ctx.pong(&data),
            Ok(ws::Message::Pong(_)) | Ok(ws::Message::Nop) => {}
            Ok(ws::Message::Close(_)) => {
                self.exit = CloseReason::ClientClose;
                ctx.close(None);
                ctx.stop();
            }
            Err(error) => {
                tracing::debug!(conn = self.id, %error, "websocket protocol error");
                self.exit = CloseReason::TransportError;
                ctx.stop();
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Handler<WriteFrames> for WsConnection {
    type Result = ();
    fn handle(&mut self, msg: WriteFrames, ctx: &mut Self::Context) {
        for packet in msg.packets {
            match into_frame(packet) {
                Frame::Text(text) => ctx.text(text),
                Frame::Binary(data) => ctx.binary(data),
            }
        }
    }
}

impl Handler<CloseConnection> for WsConnection {
    type Result = ();
    fn handle(&mut self, _msg: CloseConnection, ctx: &mut Self::Context) {
        ctx.close(Some(ws::CloseCode::Normal.into()));
        ctx.stop();
    }
}

fn link(id: u64, addr: &Addr<WsConnection>) -> WsLink {
    WsLink {
        id,
        write: addr.clone().recipient(),
        close: addr.clone().recipient(),
        direct: None,
    }
}

/// Handle `GET ?EIO=4&transport=websocket[&sid=...]`.
pub(crate) async fn handle(
    engine: Arc<EngineShared>,
    req: HttpRequest,
    stream: web::Payload,
    sid: Option<String>,
    request: HandshakeRequest,
) -> HttpResponse {
    if ws::handshake(&req).is_err() {
        return RequestError::BadRequest.response();
    }
    let max_payload = engine.config.max_payload;
    match sid {
        None => {
            let starter = SessionStarter::new(&engine, request);
            let connection = WsConnection::new(starter.addr(), max_payload);
            let id = connection.id;
            match ws::WsResponseBuilder::new(connection, &req, stream)
                .frame_size(max_payload)
                .start_with_addr()
            {
                Ok((addr, response)) => {
                    starter.start_websocket(link(id, &addr));
                    response
                }
                Err(error) => {
                    tracing::debug!(%error, "websocket handshake failed");
                    engine.registry.remove(starter.sid());
                    RequestError::BadRequest.response()
                }
            }
        }
        Some(sid) => {
            let Some(entry) = engine.registry.get(&sid) else {
                return RequestError::UnknownSid.response();
            };
            let connection = WsConnection::new(entry.addr.clone(), max_payload);
            let id = connection.id;
            let Ok((addr, response)) = ws::WsResponseBuilder::new(connection, &req, stream)
                .frame_size(max_payload)
                .start_with_addr()
            else {
                return RequestError::BadRequest.response();
            };
            match entry
                .addr
                .send(AttachWebSocket {
                    link: link(id, &addr),
                })
                .await
            {
                Ok(Ok(())) => response,
                Ok(Err(refused)) => {
                    tracing::debug!(%sid, %refused, "websocket upgrade refused");
                    RequestError::BadRequest.response()
                }
                Err(_) => RequestError::UnknownSid.response(),
            }
        }
    }
}
