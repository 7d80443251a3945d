//! The HTTP errors of the Engine.IO endpoint.
//!
//! This module owns [`RequestError`], the error codes the reference server
//! returns in its 400 bodies, and their HTTP responses. It must not touch
//! sessions.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

/// Why a request to the Engine.IO endpoint was refused, with the code the
/// reference server puts in its `{"code":..,"message":..}` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Code 0: the `transport` query parameter is missing or unknown.
    #[error("Transport unknown")]
    UnknownTransport,
    /// Code 1: no live session has this `sid`.
    #[error("Session ID unknown")]
    UnknownSid,
    /// Code 2: a handshake (no `sid`) must be a GET.
    #[error("Bad handshake method")]
    BadHandshakeMethod,
    /// Code 3: anything else wrong with the request (overlapping polls, a
    /// polling request for an upgraded session, a bad WebSocket handshake).
    #[error("Bad request")]
    BadRequest,
    /// Code 5: `EIO` is missing or not `4`.
    #[error("Unsupported protocol version")]
    UnsupportedProtocolVersion,
}

impl RequestError {
    /// The numeric code of the reference server.
    ///
    /// # Examples
    ///
    /// ```
    /// use bus_web::engineio::RequestError;
    /// assert_eq!(RequestError::UnsupportedProtocolVersion.code(), 5);
    /// ```
    pub fn code(self) -> u8 {
        match self {
            Self::UnknownTransport => 0,
            Self::UnknownSid => 1,
            Self::BadHandshakeMethod => 2,
            Self::BadRequest => 3,
            Self::UnsupportedProtocolVersion => 5,
        }
    }

    /// The JSON body, such as `{"code":5,"message":"Unsupported protocol version"}`.
    pub fn body(self) -> String {
        serde_json::json!({ "code": self.code(), "message": self.to_string() }).to_string()
    }

    /// The HTTP 400 response carrying [`RequestError::body`].
    pub fn response(self) -> HttpResponse {
        HttpResponse::build(StatusCode::BAD_REQUEST)
            .content_type("application/json")
            .body(self.body())
    }
}
