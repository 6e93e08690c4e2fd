//! The HTTP surface (docs/API.md): one router, API routes first, the bundle as fallback.

use std::path::PathBuf;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::pipeline::Pipeline;
use crate::routes::limits::rate_limited;

mod assets;
pub mod console;
mod edges;
pub mod limits;
mod metrics;
mod oauth;
mod onboarding;
mod onboardings;
pub mod openapi;
pub mod partner;
mod security;
mod signups;
mod token;

/// What every handler can reach: one shared allocation, since axum clones the state for
/// every request (a copy of every field here was ~6 % of a GET's CPU).
#[derive(Debug, Clone)]
pub struct AppState(std::sync::Arc<App>);

impl From<App> for AppState {
    fn from(app: App) -> Self {
        AppState(std::sync::Arc::new(app))
    }
}

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

/// The fields of [`AppState`].
#[derive(Debug)]
pub struct App {
    /// The onboarding pipeline (and through it, the store).
    pub pipeline: Pipeline,
    /// The answer of `GET /api/config`.
    pub public_config: wire::PublicConfig,
    /// The built bundle, when the directory exists.
    pub dist_dir: Option<PathBuf>,
    /// Serve the sandbox SDK and popup.
    pub sandbox: bool,
    /// `WHATSAPP_PROVIDER`, as `/healthz` names it.
    pub provider: crate::config::WhatsappProvider,
    /// Origins allowed by CORS (empty: same origin only).
    pub allowed_origins: Vec<String>,
    /// `FRAME_ANCESTORS`: who may frame the proxy's pages (CSP sources; empty: `'self'`).
    pub frame_ancestors: Vec<String>,
    /// Turns true when the server shuts down: open event streams end then.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// The providers' webhook secrets; a provider without its secret answers 503.
    pub webhooks: crate::providers::WebhookKeys,
    /// The proxy's clock (webhook signature ages, `Retry-After`); the pipeline, the store
    /// and the YCloud client read the same one.
    pub clock: crate::clock::Clock,
    /// The Graph client for ownership verification; none: verification is off.
    pub verifier: Option<std::sync::Arc<crate::providers::graph::GraphClient>>,
    /// Onboarding sessions: who each onboarding is for.
    pub sessions: crate::sessions::Sessions,
    /// `PARTNER_API_KEYS`, as digests; empty: the partner API answers 503.
    pub partner_keys: partner::PartnerKeys,
    /// What clients may ask (timeouts, concurrency, rates, streams).
    pub limits: crate::routes::limits::Limits,
    /// What `GET /metrics` serves, and the token it asks for (`METRICS_TOKEN`).
    pub metrics: crate::metrics::Metrics,
    /// `METRICS_TOKEN`; none: `GET /metrics` is open.
    pub metrics_token: Option<secrecy::SecretString>,
    /// The full-page sign-in's settings; none: `REDIRECT_FLOW` is off.
    pub redirect: Option<crate::redirect::RedirectFlow>,
    /// The partner console's cookie policy and bundle.
    pub console: console::Console,
    /// What the setup check says of the settings (`GET /api/partner/setup`).
    pub setup: wire::Setup,
    /// The partner webhook's deliverer (test events); none without `PARTNER_WEBHOOK_URL`.
    pub deliverer: Option<std::sync::Arc<crate::outbox::Deliverer>>,
}

/// The whole application's router.
pub fn router(state: AppState) -> Router {
    // Health and metrics answer even when every place of MAX_CONCURRENT_REQUESTS is taken
    // (merged outside that limit below): an operator must see a starved proxy as such.
    let service = Router::new()
        .route("/healthz", get(health))
        .route("/livez", get(live))
        .route("/metrics", get(metrics::metrics))
        .method_not_allowed_fallback(assets::method_not_allowed);
    let mut app = Router::new()
        .route("/api/config", get(config))
        .route(
            "/api/onboardings",
            rate_limited(post(onboardings::create), &state.limits.settings),
        )
        .route("/api/onboardings/{id}", get(onboardings::get_one))
        .route(
            "/api/signup-events",
            rate_limited(post(signups::report), &state.limits.settings),
        )
        .route(
            "/api/onboardings/{id}/retry",
            rate_limited(post(onboardings::retry), &state.limits.settings),
        )
        .route(
            "/api/onboardings/{id}/pin",
            rate_limited(post(token::pin), &state.limits.settings),
        )
        .route("/api/session", post(partner::sessions::session_info))
        .route(
            "/api/oauth/start",
            rate_limited(post(oauth::start), &state.limits.settings),
        )
        .route("/api/oauth/result", post(oauth::result))
        .route(
            crate::redirect::CALLBACK_PATH,
            rate_limited(
                get(oauth::callback).post(oauth::choose),
                &state.limits.settings,
            ),
        )
        .route("/api/openapi.json", get(openapi::document));
    // Each provider's webhook receivers, with their own state.
    app = app.merge(crate::providers::webhook_routes(crate::providers::Hooks {
        pipeline: state.pipeline.clone(),
        clock: state.clock.clone(),
        keys: state.webhooks.clone(),
    }));
    // The partner's backend, with a key: never the browser (no CORS for these).
    let partner_api = Router::new()
        .route(
            "/api/partner/sessions",
            post(partner::sessions::create_session).get(partner::sessions::list_sessions),
        )
        .route(
            "/api/partner/sessions/{id}",
            delete(partner::sessions::revoke_session).get(partner::sessions::get_session),
        )
        .route(
            "/api/partner/onboardings",
            get(partner::onboardings::list_onboardings),
        )
        .route(
            "/api/partner/onboardings/{id}",
            get(partner::onboardings::get_onboarding),
        )
        .route(
            "/api/partner/onboardings/{id}/retry",
            post(partner::onboardings::retry),
        )
        .route(
            "/api/partner/onboardings/{id}/restart",
            post(partner::onboardings::restart),
        )
        .route(
            "/api/partner/onboardings/{id}/reauthorize",
            post(partner::onboardings::reauthorize),
        )
        .route(
            "/api/partner/onboardings/{id}/deregister",
            post(token::deregister),
        )
        .route(
            "/api/partner/onboardings/{id}/credentials",
            get(token::credentials),
        )
        .route("/api/partner/events", get(partner::events::events))
        .route("/api/partner/events/{id}", get(partner::events::event))
        .route(
            "/api/partner/events/{id}/redeliver",
            post(partner::events::redeliver),
        )
        .route(
            "/api/partner/webhook-test",
            post(partner::events::webhook_test),
        )
        .route("/api/partner/funnel", get(partner::onboardings::funnel))
        .route("/api/partner/setup", get(partner::onboardings::setup))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            partner::require_key,
        ));
    let partner_api = match state.sandbox {
        true => partner_api.route_layer(axum::middleware::from_fn(edges::mark_sandbox)),
        false => partner_api,
    };
    app = app.merge(partner_api);
    // The partner console: its page and sign-in (404 without PARTNER_API_KEYS).
    app = app
        .route("/console", get(console::page))
        .route("/console/", get(console::page))
        .route(
            "/console/login",
            rate_limited(post(console::login), &state.limits.settings),
        )
        .route("/console/logout", post(console::logout))
        .route("/console/session", get(console::session))
        .route("/console/{*file}", get(console::file));
    // The page itself, with the configuration in it; every other file of the bundle is the
    // fallback below.
    app = app
        .route("/", get(assets::index))
        .route("/index.html", get(assets::index));
    if state.sandbox {
        app = app
            .route("/sandbox/sdk.js", get(assets::sandbox_sdk))
            .route("/sandbox/popup.html", get(assets::sandbox_popup))
            .route("/embed-demo.html", get(assets::sandbox_embed_demo))
            .route(
                crate::redirect::SANDBOX_DIALOG_PATH,
                get(assets::sandbox_dialog),
            );
    }
    // Every route so far has the request timeout; the event stream, added after it, does
    // not: its answer is the stream, which has a lifetime of its own.
    let app =
        crate::routes::limits::with_request_timeout(app, state.limits.settings.request_timeout)
            .route(onboardings::EVENTS_ROUTE, get(onboardings::events));
    let cors = cors_layer(&state.allowed_origins);
    let security = security::SecurityHeaders::new(
        &state.public_config.sdk_url,
        &state.frame_ancestors,
        state.dist_dir.as_deref(),
        state.sandbox,
    );
    let app = app
        .method_not_allowed_fallback(assets::method_not_allowed)
        .fallback_service(assets::bundle_service(state.dist_dir.clone()))
        // axum's Json reads at most this much and answers 413 beyond (in our shape, through
        // `error::Json`'s rejection).
        .layer(DefaultBodyLimit::max(wire::MAX_BODY_BYTES))
        // A bug must still answer in the error shape (and be logged), not drop the connection.
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                crate::error::Error::Internal("a handler panicked".to_owned()).into_response()
            },
        ));
    // Inside the concurrency limit: a body trickling in frees its place after
    // BODY_READ_TIMEOUT_SECS. Outside it, each client's own cap, so that one client alone
    // never holds every place.
    let app = app.layer(axum::middleware::from_fn_with_state(
        state.limits.clone(),
        crate::routes::limits::body_deadline,
    ));
    let app = crate::routes::limits::with_concurrency_limit(
        app,
        state.limits.settings.max_concurrent_requests,
    )
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        crate::routes::limits::per_client_in_flight,
    ));
    let service =
        crate::routes::limits::with_request_timeout(service, state.limits.settings.request_timeout);
    let app = app
        .merge(service)
        // Outside the limits, so their refusals are counted too.
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::metrics::track,
        ))
        // Not on the event stream: see the layer.
        .layer(onboardings::CompressionLayer)
        .layer(axum::middleware::map_response(
            move |response: axum::response::Response| {
                let security = security.clone();
                async move { security.apply(response) }
            },
        ))
        .layer(
            // Method and path only: no headers (nor the query) go into the logs. Each request
            // at `debug` (a line per request at `info` cost ~30 % of GET throughput); a 5xx
            // or a failed connection is still logged at `error` (`DefaultOnFailure`).
            TraceLayer::new_for_http()
                // The path without its query: `?session=` and `hub.verify_token` are
                // secrets, and `DefaultMakeSpan` records the whole URI.
                .make_span_with(|request: &axum::extract::Request| {
                    tracing::debug_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                    )
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
        );
    let app = match cors {
        Some(cors) => app.layer(cors),
        None => app,
    };
    let app = app.layer(axum::middleware::from_fn_with_state(
        edges::OriginLog::new(&state.allowed_origins),
        edges::log_refused_origin,
    ));
    app.with_state(state)
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            // Authorization: the client token of an onboarding's browser routes.
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
            .max_age(Duration::from_secs(600)),
    )
}

/// `GET /healthz`: up and able to write its store, and in which mode (a sandbox must never
/// pass for a live proxy).
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses(
        (status = 200, description = "`{\"status\":\"ok\",\"mode\":\"live\"|\"sandbox\",\"provider\",\"version\"}` (`provider` as `WHATSAPP_PROVIDER` names it)", body = wire::Health),
        (status = 503, description = "`{\"status\":\"unavailable\"}`: the store cannot be written (the process runs: see `/livez`)"),
    ))]
pub(crate) async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    if let Err(e) = state.pipeline.store().probe_write().await {
        tracing::error!(error = %e, "health check: the store cannot be written");
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "unavailable"})),
        )
            .into_response();
    }
    axum::Json(wire::Health {
        status: "ok".to_owned(),
        mode: match state.sandbox {
            true => wire::ProxyMode::Sandbox,
            false => wire::ProxyMode::Live,
        },
        provider: state.provider.as_str().to_owned(),
        version: crate::config::VERSION.to_owned(),
    })
    .into_response()
}

/// `GET /livez`: the process runs (whatever its store says).
#[utoipa::path(get, path = "/livez", tag = "service",
    responses((status = 200, description = "`{\"status\":\"ok\"}` while the process runs")))]
pub(crate) async fn live() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// `GET /api/config`: public values only.
#[utoipa::path(get, path = "/api/config", tag = "service",
    responses((status = 200, description = "What the browser needs for Embedded Signup", body = wire::PublicConfig)))]
pub(crate) async fn config(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<wire::PublicConfig> {
    axum::Json(state.public_config.clone())
}
