//! The built bundle, the sandbox stand-ins, and the 404/405 answers in the project's shape.

use std::convert::Infallible;
use std::path::PathBuf;

use axum::http::{header, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, MethodRouter};
use tower_http::services::ServeDir;

use crate::error::Error;
use crate::sandbox::assets;

/// `GET /sandbox/sdk.js` (sandbox mode only).
pub async fn sandbox_sdk() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        assets::SDK_JS,
    )
        .into_response()
}

/// `GET /sandbox/popup.html` (sandbox mode only).
pub async fn sandbox_popup() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        assets::POPUP_HTML,
    )
        .into_response()
}

/// `GET /embed-demo.html` (sandbox mode only).
pub async fn sandbox_embed_demo() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        assets::EMBED_DEMO_HTML,
    )
        .into_response()
}

/// A known API route with the wrong method.
pub async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

/// Serves `dist_dir` at `/` (`index.html` for directories, precompressed `.br`/`.gz` files
/// when present); anything not found answers in the error shape. With no bundle built,
/// every such request says how to build it.
pub fn bundle_service(dist_dir: Option<PathBuf>) -> MethodRouter<(), Infallible> {
    match dist_dir {
        Some(dir) => {
            let serve = ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .precompressed_br()
                .precompressed_gzip()
                .call_fallback_on_method_not_allowed(true)
                .fallback(any(not_found));
            any_service(serve)
        }
        None => any(no_bundle),
    }
}

fn any_service(serve: ServeDir<MethodRouter<(), Infallible>>) -> MethodRouter<(), Infallible> {
    axum::routing::any_service(serve)
}

async fn not_found(method: Method, uri: Uri) -> Error {
    miss(&method, &uri, "there is nothing at this address")
}

async fn no_bundle(method: Method, uri: Uri) -> Error {
    miss(&method, &uri, "the browser bundle is not built; run `cargo xtask serve` (or `trunk build --release`) to build it")
}

fn miss(method: &Method, uri: &Uri, message: &str) -> Error {
    let api = uri.path().starts_with("/api/") || uri.path() == "/api";
    // Everything outside /api is the bundle, which is read-only.
    if !api && method != Method::GET && method != Method::HEAD {
        return Error::MethodNotAllowed;
    }
    Error::NotFound(message.to_owned())
}
