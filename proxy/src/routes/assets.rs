//! The built bundle, the sandbox stand-ins, and the 404/405 answers in the project's shape.

use std::convert::Infallible;
use std::path::PathBuf;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, MethodRouter};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::error::Error;

/// `GET /sandbox/sdk.js`: a stand-in for Meta's JS SDK (sandbox mode only, like the pages
/// below, written alongside the browser app).
const SDK_JS: &str = include_str!("../../assets/sandbox-sdk.js");
/// `GET /sandbox/popup.html`: a stand-in for Meta's Embedded Signup popup.
pub(super) const POPUP_HTML: &str = include_str!("../../assets/sandbox-popup.html");
/// `GET /sandbox/dialog/oauth`: a stand-in for Meta's login dialog (the redirect flow).
pub(super) const DIALOG_HTML: &str = include_str!("../../assets/sandbox-dialog.html");
/// `/embed-demo.html`: an example partner page embedding the widget. Sandbox mode only, so
/// no production bundle or proxy ever serves a demo page.
pub(super) const EMBED_DEMO_HTML: &str = include_str!("../../assets/embed-demo.html");

/// `GET /sandbox/sdk.js` (sandbox mode only).
pub async fn sandbox_sdk() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SDK_JS,
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
        POPUP_HTML,
    )
        .into_response()
}

/// `GET /sandbox/dialog/oauth` (sandbox mode only): a stand-in for Meta's login dialog.
pub async fn sandbox_dialog() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        DIALOG_HTML,
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
        EMBED_DEMO_HTML,
    )
        .into_response()
}

/// A known API route with the wrong method.
pub async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

/// Where the bundle's page leaves room for the public configuration (`index.html`).
const CONFIG_SLOT: &str = r#"<script id="wa-signup-config" type="application/json"></script>"#;

/// `GET /` and `GET /index.html`: the bundle's page with `/api/config`'s answer written into
/// its configuration block, so the page can start the SDK's download without waiting for a
/// second request. Read at each request: a rebuilt bundle is served at once, like the rest.
pub async fn index(State(state): State<super::AppState>, method: Method, uri: Uri) -> Response {
    let Some(dir) = state.dist_dir.as_deref() else {
        return no_bundle(method, uri).await.into_response();
    };
    let Ok(html) = tokio::fs::read_to_string(dir.join("index.html")).await else {
        return not_found(method, uri).await.into_response();
    };
    let page = with_config(&html, &state.public_config);
    // A hosted link's page has the session token in its address: no cache keeps it, and
    // no request from it names it to another site.
    let holds_session = uri
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("session=")));
    if holds_session {
        return (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
                (header::REFERRER_POLICY, "no-referrer"),
            ],
            page,
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        page,
    )
        .into_response()
}

/// `html` with the configuration's JSON in its slot (unchanged when it has none). `<`, `>`
/// and `&` are written as JSON escapes, so no value can close the element or open a comment.
pub(crate) fn with_config(html: &str, config: &wire::PublicConfig) -> String {
    let Ok(json) = serde_json::to_string(config) else {
        return html.to_owned();
    };
    let json = json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let filled = CONFIG_SLOT.replace("></script>", &format!(">{json}</script>"));
    html.replacen(CONFIG_SLOT, &filled, 1)
}

/// A year: the longest lifetime caches are asked to honour.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Whether a file's name carries its content's hash (trunk's `NAME-<hash>.js`,
/// `NAME-<hash>_bg.wasm`, the hash a 64-bit number in lowercase hex, so 8 to 16 digits but
/// for one name in billions): such a name never serves other bytes, so it may be cached for
/// good.
fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.match_indices('-').any(|(at, _)| {
        let rest = &name[at + 1..];
        let digits = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            .count();
        (8..=16).contains(&digits) && matches!(rest.as_bytes().get(digits), Some(b'.' | b'_'))
    })
}

/// Serves `dist_dir` at `/` (`index.html` for directories, precompressed `.br`/`.gz` files
/// when present, else compressed on the fly by the router's layer); anything not found
/// answers in the error shape. Content-hashed files are cached for a year, everything else
/// is revalidated (`no-cache`): `/embed.js` keeps its name for partners, so it must never go
/// stale. With no bundle built, every such request says how to build it.
pub fn bundle_service(dist_dir: Option<PathBuf>) -> MethodRouter<(), Infallible> {
    match dist_dir {
        Some(dir) => {
            let serve = ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .precompressed_br()
                .precompressed_gzip()
                .call_fallback_on_method_not_allowed(true)
                .fallback(any(not_found));
            any(move |request: Request| serve_file(serve.clone(), request))
        }
        None => any(no_bundle),
    }
}

async fn serve_file(serve: ServeDir<MethodRouter<(), Infallible>>, request: Request) -> Response {
    let immutable = is_content_hashed(request.uri().path());
    let mut response = match serve.oneshot(request).await {
        Ok(response) => response.map(axum::body::Body::new),
        Err(never) => match never {},
    };
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let value = if immutable { IMMUTABLE } else { "no-cache" };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_trunk_s_hashed_names_are_immutable() {
        for hashed in [
            "/wa-signup-5f2b0c9e8d7a6b41_bg.wasm",
            "/wa-signup-5f2b0c9e8d7a6b41.js",
            "/widget-123456789abcdef.css",
        ] {
            assert!(is_content_hashed(hashed), "{hashed}");
        }
        for stable in [
            "/embed.js",
            "/index.html",
            "/",
            "/wa-signup.js",
            "/wa-signup_bg.wasm",
            "/embed-demo.html",
            "/x-1234567.js",
            "/x-0123456789abcdef0.js",
            "/x-0123456789abcdeg.js",
        ] {
            assert!(!is_content_hashed(stable), "{stable}");
        }
    }

    #[test]
    fn the_configuration_fills_its_slot_and_cannot_close_it() {
        let config = wire::PublicConfig {
            sdk_url: "https://example.com/</script><script>alert(1)</script>&".to_owned(),
            ..sample_config()
        };
        let page = format!("<head>{CONFIG_SLOT}</head>");
        let html = with_config(&page, &config);
        assert_eq!(html.matches("</script>").count(), 1, "{html}");
        let json = html
            .strip_prefix(r#"<head><script id="wa-signup-config" type="application/json">"#)
            .and_then(|rest| rest.strip_suffix("</script></head>"))
            .expect("the slot, filled");
        let back: wire::PublicConfig = serde_json::from_str(json).unwrap();
        assert_eq!(back, config);
        // A page without the slot is served as it is.
        assert_eq!(with_config("<p>hi</p>", &config), "<p>hi</p>");
    }

    fn sample_config() -> wire::PublicConfig {
        serde_json::from_value(serde_json::json!({
            "app_id": "1", "config_id": "2", "solution_id": "3", "graph_version": "v26.0",
            "es_version": "v4", "sdk_url": "/sandbox/sdk.js", "sandbox": true,
            "verification": false, "sessions_required": false
        }))
        .unwrap()
    }
}
