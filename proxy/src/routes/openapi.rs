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
        super::live,
        super::config,
        onboardings::create,
        onboardings::get_one,
        onboardings::events,
        onboardings::retry,
        super::signups::report,
        super::partner::sessions::session_info,
        super::partner::sessions::create_session,
        super::partner::sessions::revoke_session,
        super::partner::sessions::list_sessions,
        super::partner::sessions::get_session,
        super::partner::onboardings::list_onboardings,
        super::partner::onboardings::get_onboarding,
        super::partner::onboardings::retry,
        super::partner::onboardings::restart,
        super::partner::onboardings::reauthorize,
        super::token::deregister,
        super::token::credentials,
        super::token::pin,
        super::partner::events::events,
        super::partner::events::event,
        super::partner::events::redeliver,
        super::partner::events::webhook_test,
        super::partner::onboardings::funnel,
        super::partner::onboardings::setup,
        super::console::login,
        super::console::logout,
        super::console::session,
        super::metrics::metrics,
        super::oauth::start,
        super::oauth::callback,
        super::oauth::choose,
        super::oauth::result,
    ),
    components(schemas(
        wire::CreateOnboarding,
        wire::Onboarding,
        wire::CreatedOnboarding,
        wire::ClientToken,
        wire::OnboardingError,
        wire::OnboardingState,
        wire::Mode,
        wire::PublicConfig,
        wire::Health,
        wire::ProxyMode,
        wire::ErrorBody,
        wire::ApiError,
        wire::CreateSession,
        wire::Session,
        wire::SessionLookup,
        wire::StartRedirect,
        wire::RedirectStarted,
        wire::RedirectResult,
        wire::SessionInfo,
        wire::ReauthorizeTarget,
        wire::Prefill,
        wire::PrefillFields,
        wire::PrefillBusiness,
        wire::PrefillBusinessPhone,
        wire::PrefillAddress,
        wire::PrefillPhone,
        wire::PartnerOnboarding,
        wire::NumberHealth,
        wire::HealthChange,
        wire::CoexistenceSync,
        wire::SyncPart,
        wire::SyncState,
        wire::OnboardingPage,
        wire::SessionPage,
        wire::PartnerEvent,
        wire::EventPage,
        wire::EventType,
        wire::Delivery,
        wire::DeliveryAttempt,
        wire::DeliveryState,
        wire::Locale,
        wire::SetPin,
        wire::Pin,
        wire::Credentials,
        wire::StorageRegion,
        wire::ReportSignupEvent,
        wire::SignupEventKind,
        wire::SignupOutcome,
        wire::EventData,
        wire::NumberCandidate,
        wire::ConsoleLogin,
        wire::ConsoleSession,
        wire::WebhookTest,
        wire::Funnel,
        wire::FunnelCount,
        wire::Setup,
        wire::SetupSetting,
        wire::LastDelivery,
    )),
    modifiers(&PartnerKeyScheme),
    tags(
        (name = "onboardings", description = "Onboarding a WABA (standard) or a WhatsApp Business App number (coexistence)"),
        (name = "service", description = "Health, public configuration and metrics"),
        (name = "webhooks", description = "Events YCloud (or, with WHATSAPP_PROVIDER=meta, Meta) sends about numbers and accounts"),
        (name = "partner", description = "The partner's backend: sessions, onboardings and events (bearer key from PARTNER_API_KEYS, or the console's cookie)"),
        (name = "console", description = "The partner console's sign-in: a partner API key exchanged for a cookie session"),
    )
)]
pub struct ApiDoc;

/// The partner API's bearer keys, as a security scheme.
struct PartnerKeyScheme;

impl utoipa::Modify for PartnerKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "partner_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("One of PARTNER_API_KEYS"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The client_token answered by POST /api/onboardings with this onboarding",
                    ))
                    .build(),
            ),
        );
    }
}

/// The whole document: these routes and the providers' webhook receivers.
pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi().merge_from(crate::providers::WebhookApi::openapi())
}

/// `GET /api/openapi.json`.
pub async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(spec())
}
