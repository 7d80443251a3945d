//! CORS headers for the long-polling transport.
//!
//! This module owns the `Access-Control-*` headers: which origin is echoed,
//! credentials, and the preflight answer. It must not touch sessions or
//! decide anything else about a request.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use super::config::CorsOrigins;

/// Add CORS headers to `response` when the request's origin is allowed.
pub(crate) fn apply(cors: &CorsOrigins, req: &HttpRequest, response: &mut HttpResponse) {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return;
    };
    let allowed = origin.to_str().is_ok_and(|origin| cors.allows(origin));
    if !allowed {
        return;
    }
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// The answer to an `OPTIONS` preflight.
pub(crate) fn preflight(req: &HttpRequest) -> HttpResponse {
    let mut response = HttpResponse::NoContent();
    response.insert_header((
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    ));
    let requested = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or(HeaderValue::from_static("content-type"));
    response.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, requested));
    response.finish()
}
