//! What clients may ask of the proxy (docs/API.md, "Limits"): the whole-request timeout and
//! the global concurrency limit, as tower layers answering in the error shape. (The
//! header-read timeout is the server's: `startup::serve`.)

use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::{BoxError, Router};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::timeout::TimeoutLayer;
use tower::ServiceBuilder;

use crate::error::Error;

/// `router`'s routes (so far) with the request timeout: a request not answered within
/// `timeout`, its body included, is answered `503 request_timeout` and its handler dropped.
/// Handlers whose work must outlive the answer (the onboarding steps) run it in a task of
/// their own.
pub fn with_request_timeout<S>(router: Router<S>, timeout: Duration) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.route_layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(refusal))
            .layer(TimeoutLayer::new(timeout)),
    )
}

/// `router` (routes and fallback) handling at most `max` requests at once; one more is
/// answered `503 overloaded` at once instead of queueing. An event stream holds its place
/// only until its answer starts.
pub fn with_concurrency_limit<S>(router: Router<S>, max: usize) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    // Global: one semaphore shared by every route's copy of the layer.
    router.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(refusal))
            .layer(LoadShedLayer::new())
            .layer(GlobalConcurrencyLimitLayer::new(max)),
    )
}

/// The error shape of what tower's layers refuse with.
async fn refusal(err: BoxError) -> Error {
    if err.is::<tower::timeout::error::Elapsed>() {
        Error::RequestTimeout
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        Error::Overloaded
    } else {
        Error::Internal(format!("a limit layer failed: {err}"))
    }
}
