//! Two small layers at the edge of the router: the sandbox's mark on every partner answer,
//! and the log line for a page whose origin CORS refuses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

/// Largest partner answer the sandbox mark rewrites (a page of 100 onboardings is far less).
const MAX_MARKED_BYTES: usize = 8 * 1024 * 1024;
/// How often one refused origin is logged.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(60);
/// Origins remembered at once; beyond, the memory starts again (a flood of made-up origins
/// costs a log line each minute at most per origin, and bounded memory).
const MAX_REMEMBERED_ORIGINS: usize = 1024;

/// Adds `"sandbox": true` to a sandbox's partner API answers: to the object, and to each
/// object of its `data` list (pages of onboardings and events), so nothing a sandbox says
/// can be taken for real.
pub async fn mark_sandbox(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_MARKED_BYTES).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let marked = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut object)) => {
            if let Some(serde_json::Value::Array(items)) = object.get_mut("data") {
                for item in items
                    .iter_mut()
                    .filter_map(serde_json::Value::as_object_mut)
                {
                    item.insert("sandbox".to_owned(), serde_json::Value::Bool(true));
                }
            }
            object.insert("sandbox".to_owned(), serde_json::Value::Bool(true));
            serde_json::to_vec(&object).ok()
        }
        _ => None,
    };
    let body = match marked {
        Some(marked) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Body::from(marked)
        }
        None => Body::from(bytes),
    };
    Response::from_parts(parts, body)
}

/// The origins CORS allows, and when each refused one was last logged.
#[derive(Debug, Clone)]
pub struct OriginLog {
    allowed: Arc<Vec<String>>,
    logged: Arc<Mutex<HashMap<String, Instant>>>,
}

impl OriginLog {
    /// A log for a proxy allowing `allowed` (serialized origins, as `ALLOWED_ORIGINS` holds).
    pub fn new(allowed: &[String]) -> Self {
        Self {
            allowed: Arc::new(allowed.to_vec()),
            logged: Arc::default(),
        }
    }

    /// Whether a refusal of `origin` is due for a log line now (once a minute per origin).
    fn due(&self, origin: &str, now: Instant) -> bool {
        let Ok(mut logged) = self.logged.lock() else {
            return false;
        };
        if logged.len() >= MAX_REMEMBERED_ORIGINS {
            logged.clear();
        }
        match logged.get(origin) {
            Some(at) if now.duration_since(*at) < REFUSAL_LOG_EVERY => false,
            _ => {
                logged.insert(origin.to_owned(), now);
                true
            }
        }
    }
}

/// Logs (at most once a minute per origin) a browser request from a page whose origin is
/// neither the proxy's own nor in `ALLOWED_ORIGINS`: the browser hides the answer from that
/// page, which otherwise shows an empty box while the proxy says nothing.
pub async fn log_refused_origin(
    State(log): State<OriginLog>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    if let Some(origin) = origin {
        // Same origin: the proxy's own pages (`scheme://` + the Host they asked).
        let same = host.is_some_and(|h| origin.split_once("://").is_some_and(|(_, a)| a == h));
        let allowed = log.allowed.iter().any(|a| a == origin);
        if !same && !allowed && origin != "null" && log.due(origin, Instant::now()) {
            // The origin is what the browser says the page is: shown escaped by `?`.
            tracing::warn!(
                origin = ?origin,
                path = %request.uri().path(),
                "a page on an origin not in ALLOWED_ORIGINS called the proxy: the browser \
                 hides the answer from it (add the origin to ALLOWED_ORIGINS to embed there)"
            );
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_origin_is_logged_once_a_minute() {
        let log = OriginLog::new(&["https://partner.example".to_owned()]);
        let t0 = Instant::now();
        assert!(log.due("https://other.example", t0));
        assert!(!log.due("https://other.example", t0 + Duration::from_secs(59)));
        assert!(log.due("https://third.example", t0 + Duration::from_secs(1)));
        assert!(log.due("https://other.example", t0 + Duration::from_secs(61)));
    }
}
