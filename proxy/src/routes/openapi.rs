//! `GET /api/openapi.json`: the OpenAPI 3 document of the proxy's API, generated from the
//! handlers' annotations and the wire types, so it cannot drift from them.

use utoipa::OpenApi;

use super::onboardings;

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "WhatsApp Embedded Signup proxy",
        description = "Binds and registers WhatsApp Business Accounts at YCloud for the \
                       browser's Embedded Signup, and keeps the onboarding record. Every \
                       error is `{\"error\":{\"code\",\"message\",\"retryable\"}}`."
    ),
    paths(
        super::health,
        super::config,
        onboardings::create,
        onboardings::get_one,
        onboardings::events,
        onboardings::retry,
        super::webhooks::ycloud,
        super::metrics::metrics,
    ),
    components(schemas(
        wire::CreateOnboarding,
        wire::Onboarding,
        wire::OnboardingError,
        wire::OnboardingState,
        wire::Mode,
        wire::PublicConfig,
        wire::Health,
        wire::ProxyMode,
        wire::ErrorBody,
        wire::ApiError,
        crate::webhook::Envelope,
    )),
    tags(
        (name = "onboardings", description = "Onboarding a WABA (standard) or a WhatsApp Business App number (coexistence)"),
        (name = "service", description = "Health, public configuration and metrics"),
        (name = "webhooks", description = "Events YCloud sends about numbers and accounts"),
    )
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`.
pub async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
