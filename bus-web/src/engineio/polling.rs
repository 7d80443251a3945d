//! The HTTP long-polling transport.
//!
//! This module owns the handshake GET, the long-running GET that receives a
//! payload, and the POST that sends one; it detects a client that aborts a
//! pending GET. It must not touch session state: it talks to the session
//! actor through its messages and answers with what the session decides.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix::Addr;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::BytesMut;
use futures::StreamExt as _;

use super::error::RequestError;
use super::handler::{CloseReason, HandshakeRequest};
use super::packet::Packet;
use super::payload::{decode_payload_bytes, encode_payload};
use super::registry::SessionEntry;
use super::session::{
    CloseSession, EngineShared, PollAborted, PollGet, PollOutcome, PollPost, Session,
    SessionStarter,
};

fn payload_response(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=UTF-8")
        .body(body)
}

/// `GET ?EIO=4&transport=polling` without a sid: a new session.
pub(crate) fn handshake(engine: &Arc<EngineShared>, request: HandshakeRequest) -> HttpResponse {
    let starter = SessionStarter::new(engine, request);
    let open = starter.open_packet(false);
    starter.start_polling();
    payload_response(encode_payload(&[Packet::Open(open)]))
}

/// Tells the session when the client goes away while its GET is pending:
/// actix-web drops the handler's future when the connection is lost (at once
/// with `HttpServer::h1_allow_half_closed(false)`; otherwise when a write
/// fails, and the missing pong closes the session anyway).
struct AbortGuard {
    addr: Addr<Session>,
    poll_id: u64,
    armed: bool,
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if self.armed {
            // A control message on the exit path, not fan-out.
            self.addr.do_send(PollAborted {
                poll_id: self.poll_id,
            });
        }
    }
}

/// `GET ?EIO=4&transport=polling&sid=...`: wait for a payload.
pub(crate) async fn get(entry: SessionEntry) -> HttpResponse {
    match entry.addr.send(PollGet).await {
        Ok(Ok(PollOutcome::Ready(body))) => payload_response(body),
        Ok(Ok(PollOutcome::Wait { poll_id, reply })) => {
            let mut guard = AbortGuard {
                addr: entry.addr.clone(),
                poll_id,
                armed: true,
            };
            let body = reply.await;
            guard.armed = false;
            // A session that vanished without answering is closed.
            payload_response(body.unwrap_or_else(|_| encode_payload(&[Packet::Close])))
        }
        Ok(Err(refused)) => {
            tracing::debug!(%refused, "poll refused");
            RequestError::BadRequest.response()
        }
        Err(_) => RequestError::UnknownSid.response(),
    }
}

/// Clears the session's "POST in progress" flag when the POST ends.
struct PostBusy(Arc<AtomicBool>);

impl Drop for PostBusy {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// `POST ?EIO=4&transport=polling&sid=...`: deliver a payload.
pub(crate) async fn post(
    engine: &Arc<EngineShared>,
    entry: SessionEntry,
    req: &HttpRequest,
    mut body: web::Payload,
) -> HttpResponse {
    if entry.post_busy.swap(true, Ordering::AcqRel) {
        tracing::debug!("overlapping POST, closing the session");
        entry.addr.do_send(CloseSession {
            reason: CloseReason::TransportError,
        });
        return RequestError::BadRequest.response();
    }
    let _busy = PostBusy(entry.post_busy.clone());
    let max = engine.config.max_payload;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|len| len > max) {
        return HttpResponse::PayloadTooLarge().finish();
    }
    let mut data = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else {
            return RequestError::BadRequest.response();
        };
        if data.len() + chunk.len() > max {
            return HttpResponse::PayloadTooLarge().finish();
        }
        data.extend_from_slice(&chunk);
    }
    let packets = match decode_payload_bytes(&data) {
        Ok(packets) => packets,
        Err(error) => {
            tracing::debug!(%error, "invalid payload, closing the session");
            entry.addr.do_send(CloseSession {
                reason: CloseReason::ParseError,
            });
            return RequestError::BadRequest.response();
        }
    };
    match entry.addr.send(PollPost { packets }).await {
        Ok(Ok(wait)) => {
            if let Some(wait) = wait {
                // Backpressure: answer once the upper layer took everything,
                // so the client sends nothing more meanwhile. An error means
                // the session closed; the next request learns that.
                let _ = wait.await;
            }
            HttpResponse::Ok()
                .content_type("text/html; charset=UTF-8")
                .body("ok")
        }
        Ok(Err(refused)) => {
            tracing::debug!(%refused, "post refused");
            RequestError::BadRequest.response()
        }
        Err(_) => RequestError::UnknownSid.response(),
    }
}
