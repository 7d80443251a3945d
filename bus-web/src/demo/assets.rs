//! The demo page's static files, embedded in the binary and served at `/`.
//!
//! Owns the file table and its HTTP headers; the page's behaviour lives in the
//! files themselves (`bus-web/static/`).

use actix_web::http::header;
use actix_web::{web, HttpResponse};

/// The page's Content-Security-Policy: everything from this origin only, and
/// WebSocket connections back to it.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; \
                                       style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; \
                                       frame-ancestors 'none'";

/// One embedded file: where it is served, its media type and its text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asset {
    /// The URL path, relative to the demo's mount point.
    pub(crate) path: &'static str,
    /// The Content-Type header value.
    pub(crate) content_type: &'static str,
    /// The file's content.
    pub(crate) body: &'static str,
}

/// Every file of the demo page.
pub(crate) const ASSETS: [Asset; 5] = [
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../../static/index.html"),
    },
    Asset {
        path: "/index.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../../static/index.html"),
    },
    Asset {
        path: "/chat.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/chat.js"),
    },
    Asset {
        path: "/sio.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/sio.js"),
    },
    Asset {
        path: "/chat.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../static/chat.css"),
    },
];

/// Registers GET and HEAD routes for every embedded file.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    for asset in ASSETS {
        cfg.service(
            web::resource(asset.path)
                .route(web::get().to(move || async move { respond(asset) }))
                .route(web::head().to(move || async move { respond(asset) })),
        );
    }
}

fn respond(asset: Asset) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, asset.content_type))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(asset.body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test as actix_test, App};

    #[actix_web::test]
    async fn every_file_is_served_with_its_type_and_a_strict_policy() {
        let app = actix_test::init_service(App::new().configure(configure)).await;
        for asset in ASSETS {
            let response = actix_test::call_service(
                &app,
                actix_test::TestRequest::get().uri(asset.path).to_request(),
            )
            .await;
            assert!(
                response.status().is_success(),
                "{} answered {}",
                asset.path,
                response.status()
            );
            let headers = response.headers();
            assert_eq!(
                headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok()),
                Some(asset.content_type)
            );
            assert!(headers.contains_key(header::CONTENT_SECURITY_POLICY));
            let body = actix_test::read_body(response).await;
            assert_eq!(body.len(), asset.body.len(), "{} body", asset.path);
        }
    }

    #[test]
    fn the_page_loads_only_files_that_are_served() {
        let page = ASSETS[0].body;
        for reference in ["chat.css", "chat.js"] {
            assert!(
                page.contains(&format!("\"{reference}\"")),
                "index.html should reference {reference}"
            );
        }
        assert!(
            ASSETS[2].body.contains("from './sio.js'"),
            "chat.js imports the bundled client"
        );
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "the page must not load anything from elsewhere"
        );
    }

    #[actix_web::test]
    async fn an_unknown_file_is_not_found() {
        let app = actix_test::init_service(App::new().configure(configure)).await;
        let response = actix_test::call_service(
            &app,
            actix_test::TestRequest::get()
                .uri("/missing.js")
                .to_request(),
        )
        .await;
        assert_eq!(response.status(), actix_web::http::StatusCode::NOT_FOUND);
    }
}
