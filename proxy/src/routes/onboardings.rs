//! `/api/onboardings`: create, read, follow and retry.

use std::convert::Infallible;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::future::{Either, MapOk};
use futures_util::{Stream, TryFutureExt};
use tower::{Layer, Service};
use wire::{CreateOnboarding, CreatedOnboarding, ErrorBody, Onboarding};

use super::onboarding::{authorize, onboarding_id, refused, retry_onboarding};
use super::AppState;
use crate::error::{Error, Json};
use crate::ownership::{self, Verified};
use crate::pipeline::{CreateError, Created};
use crate::routes::limits::ClientIp;
use crate::store::Customer;

/// `POST /api/onboardings`: 201 with the new onboarding after its synchronous steps, or 200
/// with the existing one for the same WABA and number.
#[utoipa::path(
    post, path = "/api/onboardings", tag = "onboardings",
    request_body = CreateOnboarding,
    responses(
        (status = 201, description = "Created; bind and register ran (state `pending`, `connected`, `action_required` or `failed`). With `client_token`, shown once: the bearer token of this onboarding's browser routes", body = CreatedOnboarding),
        (status = 200, description = "The same WABA and number were posted before for the same customer: that onboarding, nothing called again; with a new `client_token`", body = CreatedOnboarding),
        (status = 401, description = "`session_required` (live mode, no `session`) or `session_invalid` (unknown, expired or revoked)", body = ErrorBody),
        (status = 409, description = "`already_onboarded`: the WABA and number belong to another customer's onboarding (nothing of it is shown)", body = ErrorBody),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 413, description = "The body is over 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "Wrong types, unknown mode or fields, malformed ids; `customer_ref_mismatch` when it differs from the session's", body = ErrorBody),
        (status = 429, description = "`session_exhausted` (the session created its 5 onboardings), or this client sent more sign-ups than `RATE_LIMIT_PER_MINUTE` allows (`rate_limited`, with `Retry-After`)", body = ErrorBody),
        (status = 403, description = "`mode_not_allowed` by the session; or ownership verification is on and failed: `code_missing`, `code_invalid`, `waba_not_owned` or `phone_number_not_owned`; nothing stored, YCloud not called. A reauthorizing session's sign-in for another WABA or number, or whose new token does not reach them: `reauthorize_mismatch`, nothing stored (a matching one answers `200` with the onboarding, its token renewed)", body = ErrorBody),
        (status = 502, description = "Ownership verification is on and the Graph API could not be asked (`verification_unavailable`); nothing stored", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Json(mut req): Json<CreateOnboarding>,
) -> Result<Response, Error> {
    // Who the customer is comes first, and from the session: nothing else runs for a
    // request without a valid one (when sessions are required).
    let customer = state.sessions.admit(&req).await?;
    // The body's mode is the button's; the onboarding runs the one Meta reports.
    let launched = req.mode;
    req.mode = crate::biz_app::reported_mode(launched, req.event.as_ref());
    if state.pipeline.holds_tokens() {
        // Meta's Cloud API directly: the code's business token is the provider's credential.
        let created = super::token::create(&state, req, launched, &customer).await?;
        return answer(&state, &customer, created).await;
    }
    let code_sha256 = match &state.verifier {
        None => None,
        Some(graph) => match ownership::verify(state.pipeline.store(), graph, &req)
            .await
            .map_err(refused)?
        {
            Verified::Again(existing) => {
                let again = state.pipeline.again(*existing, &customer).await;
                return answer(&state, &customer, again).await;
            }
            // YCloud holds its own credentials: the business token is dropped after the
            // number's path is settled with it.
            Verified::Code(hash, owned) => {
                ownership::settle_path(graph, &owned, &mut req).await;
                Some(hash)
            }
        },
    };
    if !customer.allows(req.mode) {
        return Err(Error::ModeNotAllowed(req.mode));
    }
    let created = state
        .pipeline
        .create(req, launched, &customer, code_sha256.as_deref())
        .await;
    answer(&state, &customer, created).await
}

/// `201` for a new onboarding, `200` for the same customer's existing one; either with a
/// fresh client token for its browser routes, tied to the customer's session.
async fn answer(
    state: &AppState,
    customer: &Customer,
    created: Result<Created, CreateError>,
) -> Result<Response, Error> {
    let (status, onboarding) = match created {
        Ok(Created::New(o)) => (StatusCode::CREATED, o),
        Ok(Created::Again(o)) => (StatusCode::OK, o),
        Err(CreateError::SessionExhausted) => return Err(Error::SessionExhausted),
        Err(CreateError::SessionEnded) => return Err(Error::SessionInvalid),
        Err(CreateError::AlreadyOnboarded) => return Err(Error::AlreadyOnboarded),
        Err(CreateError::Store(e)) => return Err(Error::Store(e)),
    };
    let client_token = state
        .sessions
        .issue_client_token(&onboarding.id, customer.session_id.as_deref())
        .await?;
    let body = CreatedOnboarding {
        onboarding,
        client_token,
    };
    // The token is a secret: no cache on the way keeps the answer.
    Ok((
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response())
}

/// `GET /api/onboardings/{id}`.
#[utoipa::path(
    get, path = "/api/onboardings/{id}", tag = "onboardings",
    security(("client_token" = [])),
    params(("id" = String, Path, description = "The onboarding's id (a UUID)")),
    responses(
        (status = 200, description = "The onboarding", body = Onboarding),
        (status = 401, description = "`unauthorized`: no `Authorization: Bearer <client_token>` of this onboarding, or its session was revoked or expired", body = ErrorBody),
        (status = 404, description = "No onboarding has this id", body = ErrorBody),
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Error> {
    let id = onboarding_id(id)?;
    authorize(&state, &headers, &id).await?;
    // The stored text, not a parse and re-serialization of it (the same JSON).
    let json = state
        .pipeline
        .store()
        .get_json(&id)
        .await?
        .ok_or(Error::OnboardingNotFound)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// `POST /api/onboardings/{id}/retry`: 200 with the onboarding after the retried steps.
#[utoipa::path(
    post, path = "/api/onboardings/{id}/retry", tag = "onboardings",
    security(("client_token" = [])),
    params(("id" = String, Path, description = "The onboarding's id (a UUID)")),
    responses(
        (status = 200, description = "The failed step and what follows it ran again", body = Onboarding),
        (status = 401, description = "`unauthorized`: no `Authorization: Bearer <client_token>` of this onboarding, or its session was revoked or expired", body = ErrorBody),
        (status = 404, description = "No onboarding has this id", body = ErrorBody),
        (status = 409, description = "Nothing is retryable", body = ErrorBody),
        (status = 429, description = "The number's 72-hour register budget is spent (`register_limit`; `retry_after` says until when), this onboarding was retried less than `RETRY_COOLDOWN_SECS` ago (`retry_too_soon`), or this client sent more retries than `RATE_LIMIT_PER_MINUTE` allows (`rate_limited`); each with `Retry-After`", body = ErrorBody),
    )
)]
pub async fn retry(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<Onboarding>, Error> {
    let id = onboarding_id(id)?;
    authorize(&state, &headers, &id).await?;
    retry_onboarding(&state, &id).await.map(axum::Json)
}

/// `GET /api/onboardings/{id}/events`: the onboarding at once and at every change, until
/// it reaches a state that only a person can change, or the stream's lifetime ends. Each
/// client may hold a limited number open.
#[utoipa::path(
    get, path = "/api/onboardings/{id}/events", tag = "onboardings",
    security(("client_token" = [])),
    params(("id" = String, Path, description = "The onboarding's id (a UUID)")),
    responses(
        (status = 200, description = "Server-sent events: one `data:` line with the onboarding JSON at once and at each change, until `connected`, `failed` or `action_required`, or `EVENT_STREAM_MAX_SECS` (the client reads the stream with `fetch` and reconnects)", content_type = "text/event-stream", body = String),
        (status = 401, description = "`unauthorized`: no `Authorization: Bearer <client_token>` of this onboarding, or its session was revoked or expired", body = ErrorBody),
        (status = 404, description = "No onboarding has this id", body = ErrorBody),
        (status = 429, description = "This client holds `EVENT_STREAMS_PER_CLIENT` streams open already (`too_many_streams`)", body = ErrorBody),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Error> {
    let id = onboarding_id(id)?;
    authorize(&state, &headers, &id).await?;
    // Held by the stream: its client's place is free again when the stream ends or is
    // dropped (the client left).
    let slot = state
        .limits
        .streams
        .take(client)
        .map_err(|full| match full {
            crate::routes::limits::Full::Client => Error::TooManyStreams,
            crate::routes::limits::Full::All => Error::Overloaded,
        })?;
    let lifetime = state.limits.settings.event_stream_lifetime;
    // Subscribe before reading, so a change between the two is not lost.
    let mut changes = state.pipeline.subscribe(&id);
    let first = state
        .pipeline
        .get(&id)
        .await?
        .ok_or(Error::OnboardingNotFound)?;
    let (first, mut sent) = event(&first);
    let mut stopping = state.stopping.clone();
    let stream = async_stream::stream! {
        let _slot = slot;
        let ends = tokio::time::sleep(lifetime);
        tokio::pin!(ends);
        yield Ok(first);
        while sent.follow {
            let next = tokio::select! {
                next = changes.next() => match next {
                    Some(o) => o,
                    None => break,
                },
                // A shutdown ends the stream; the browser's EventSource reconnects.
                _ = stopping.wait_for(|s| *s) => break,
                // So does its lifetime: no stream holds a socket forever.
                () = &mut ends => break,
            };
            let (changed, now) = event(&next);
            if now.fingerprint != sent.fingerprint {
                sent = now;
                yield Ok(changed);
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// What an event stream keeps of the onboarding it sent last: not the onboarding (each of
/// thousands of open streams would hold a copy), but a fingerprint of its JSON, so that only
/// a change is sent, and whether it is followed further.
struct Sent {
    /// SipHash of the JSON with fixed keys: the same text, the same value.
    fingerprint: u64,
    follow: bool,
}

/// The event of `onboarding`, and what the stream keeps of it.
fn event(onboarding: &Onboarding) -> (Event, Sent) {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let json = serde_json::to_string(onboarding).unwrap_or_default();
    let mut hasher = DefaultHasher::new();
    json.hash(&mut hasher);
    let sent = Sent {
        fingerprint: hasher.finish(),
        // A connected coexistence number whose sync runs is followed until it ends.
        follow: !onboarding.state.is_final() || onboarding.is_syncing(),
    };
    (Event::default().data(json), sent)
}

/// The event stream's route, as registered.
pub(super) const EVENTS_ROUTE: &str = "/api/onboardings/{id}/events";

/// tower-http's compression for every route but the event stream. Its compressed body is
/// ~5.8 KB whether it compresses or not (each encoder's state, inline), held as long as the
/// answer is; an event stream is never compressed (`text/event-stream`, by its default
/// predicate) yet stays open for minutes, thousands at once. The route's refusals go
/// uncompressed too: they are a few dozen bytes.
#[derive(Clone, Copy, Default)]
pub(super) struct CompressionLayer;

impl<S: Clone> Layer<S> for CompressionLayer {
    type Service = Compression<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Compression {
            compressed: tower_http::compression::Compression::new(inner.clone()),
            plain: inner,
        }
    }
}

/// See [`CompressionLayer`].
#[derive(Clone)]
pub(super) struct Compression<S> {
    plain: S,
    compressed: tower_http::compression::Compression<S>,
}

type Compressed = axum::http::Response<tower_http::compression::CompressionBody<Body>>;
type CompressedFuture<F> = tower_http::compression::ResponseFuture<
    F,
    tower_http::compression::predicate::DefaultPredicate,
>;

impl<S> Service<Request> for Compression<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<S::Future, MapOk<CompressedFuture<S::Future>, fn(Compressed) -> Response>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        ready!(self.plain.poll_ready(cx))?;
        self.compressed.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let stream = request
            .extensions()
            .get::<MatchedPath>()
            .is_some_and(|p| p.as_str() == EVENTS_ROUTE);
        if stream {
            Either::Left(self.plain.call(request))
        } else {
            Either::Right(self.compressed.call(request).map_ok(|r| r.map(Body::new)))
        }
    }
}
