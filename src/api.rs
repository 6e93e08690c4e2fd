//! Typed calls to the proxy. Components never build URLs or read response bodies themselves.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::browser::{http, json};
use wire::{
    ClientToken, CreateOnboarding, CreatedOnboarding, ErrorBody, Onboarding, Pin, PublicConfig,
    RedirectResult, RedirectStarted, ReportSignupEvent, SessionLookup, SessionToken, SetPin,
    StartRedirect,
};

/// Why a call to the proxy did not give the expected answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiFailure {
    /// The proxy could not be reached at all (down, offline, CORS refused).
    Unreachable,
    /// The proxy answered with the project's error shape.
    Refused {
        /// HTTP status.
        status: u16,
        /// The error body's fields.
        error: wire::ApiError,
    },
    /// The proxy answered something this app does not understand.
    Malformed(u16),
}

/// The proxy's address, e.g. `""` (same origin) or `https://partner.example/onboarding`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Proxy {
    base: String,
}

impl Proxy {
    /// A proxy at `base` (a trailing `/` is dropped).
    pub fn new(base: &str) -> Self {
        Proxy {
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// The absolute or same-origin URL of a proxy path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET /api/config`.
    ///
    /// # Errors
    /// [`ApiFailure`] when the proxy is unreachable or refuses.
    pub async fn config(&self) -> Result<PublicConfig, ApiFailure> {
        read(http::fetch("GET", &self.url("/api/config"), None, None).await)
    }

    /// `POST /api/session`: what the page's session token allows.
    ///
    /// # Errors
    /// [`ApiFailure`] when the proxy is unreachable, or refuses a token that is unknown,
    /// expired or revoked (`401 session_invalid`).
    pub async fn session(&self, token: &SessionToken) -> Result<wire::SessionInfo, ApiFailure> {
        let body = SessionLookup {
            session: token.clone(),
        };
        post(&self.url("/api/session"), Some(&body), None).await
    }

    /// `POST /api/onboardings`: the onboarding and the client token of its other routes.
    ///
    /// # Errors
    /// [`ApiFailure`] when the proxy is unreachable or refuses the ids.
    pub async fn create_onboarding(
        &self,
        body: &CreateOnboarding,
    ) -> Result<CreatedOnboarding, ApiFailure> {
        read_as(
            send(&self.url("/api/onboardings"), Some(body), None).await,
            created,
        )
    }

    /// `POST /api/signup-events`: a popup outcome the partner hears of. Its answer changes
    /// nothing on the page, so it is not read (a lost report loses only a funnel count).
    pub async fn report_signup_event(&self, body: &ReportSignupEvent) {
        if let Some(text) = json::to_text(body) {
            let _ = http::fetch("POST", &self.url("/api/signup-events"), Some(&text), None).await;
        }
    }

    /// `GET /api/onboardings/{id}`.
    ///
    /// # Errors
    /// [`ApiFailure`] when the proxy is unreachable, does not know the id, or no longer
    /// accepts the token (401: the session ended).
    pub async fn onboarding(
        &self,
        id: &str,
        token: &ClientToken,
    ) -> Result<Onboarding, ApiFailure> {
        read(
            http::fetch(
                "GET",
                &self.onboarding_url(id, ""),
                None,
                Some(token.as_str()),
            )
            .await,
        )
    }

    /// `POST /api/oauth/start`: a `state` for the full-page sign-in.
    ///
    /// # Errors
    /// [`ApiFailure`] when the proxy is unreachable or refuses (session rules as for an
    /// onboarding; `redirect_flow_disabled`).
    pub async fn start_redirect(
        &self,
        body: &StartRedirect,
    ) -> Result<RedirectStarted, ApiFailure> {
        post(&self.url("/api/oauth/start"), Some(body), None).await
    }

    /// `POST /api/oauth/result`: the onboarding a finished full-page sign-in created, and
    /// the client token of its other routes (as `POST /api/onboardings` answers).
    ///
    /// # Errors
    /// [`ApiFailure`] when the proxy is unreachable, or the handle is unknown, used or
    /// expired (`404 result_not_found`).
    pub async fn redirect_result(&self, result: String) -> Result<CreatedOnboarding, ApiFailure> {
        let body = RedirectResult { result };
        read_as(
            send(&self.url("/api/oauth/result"), Some(&body), None).await,
            created,
        )
    }

    /// `POST /api/onboardings/{id}/retry`.
    ///
    /// # Errors
    /// [`ApiFailure`] when nothing is retryable (409) or the register budget is spent (429).
    pub async fn retry(&self, id: &str, token: &ClientToken) -> Result<Onboarding, ApiFailure> {
        post(&self.onboarding_url(id, "/retry"), None::<&()>, Some(token)).await
    }

    /// `POST /api/onboardings/{id}/pin` with the customer's existing two-step verification
    /// PIN. The PIN travels in the JSON body only, never in the URL, and is dropped with the
    /// request.
    ///
    /// # Errors
    /// [`ApiFailure`] when the proxy is unreachable or refuses: `pin_not_expected` (409),
    /// `register_limit` or `rate_limited` (429). A PIN Meta refuses is no error: the answer
    /// is the onboarding, still `action_required` with `pin_required` (or `pin_locked`).
    pub async fn send_pin(
        &self,
        id: &str,
        token: &ClientToken,
        pin: Pin,
    ) -> Result<Onboarding, ApiFailure> {
        post(
            &self.onboarding_url(id, "/pin"),
            Some(&SetPin { pin }),
            Some(token),
        )
        .await
    }

    /// The server-sent events URL of an onboarding (read with its client token in a header).
    pub fn events_url(&self, id: &str) -> String {
        self.onboarding_url(id, "/events")
    }

    /// `/api/onboardings/{id}` with `rest` after it.
    fn onboarding_url(&self, id: &str, rest: &str) -> String {
        self.url(&format!("/api/onboardings/{id}{rest}"))
    }
}

/// `POST url`, with `body` as JSON when there is one and the client token when given, read
/// as `T`.
async fn post<T: DeserializeOwned>(
    url: &str,
    body: Option<&(impl Serialize + ?Sized)>,
    token: Option<&ClientToken>,
) -> Result<T, ApiFailure> {
    read_as(send(url, body, token).await, |text| json::from_text(text))
}

/// `POST url` as [`post`] sends it; the answer not read yet.
async fn send(
    url: &str,
    body: Option<&(impl Serialize + ?Sized)>,
    token: Option<&ClientToken>,
) -> Result<http::Answer, Option<ApiFailure>> {
    let text = match body {
        Some(body) => Some(json::to_text(body).ok_or(Some(ApiFailure::Malformed(0)))?),
        None => None,
    };
    http::fetch("POST", url, text.as_deref(), token.map(ClientToken::as_str))
        .await
        .map_err(|()| None)
}

/// The client token beside the onboarding in [`CreatedOnboarding`]'s JSON.
#[derive(Deserialize)]
struct TokenOnly {
    client_token: ClientToken,
}

/// A [`CreatedOnboarding`] read as two values of the same object: the onboarding (which
/// ignores names it does not know) and the token. The same result as its own `Deserialize`,
/// whose `flatten` has serde buffer the whole object and compile the reading of every
/// onboarding type a second time into the bundle.
fn created(text: &str) -> Option<CreatedOnboarding> {
    let value = json::parse(text)?;
    let TokenOnly { client_token } = json::from_js(value.clone())?;
    Some(CreatedOnboarding {
        onboarding: json::from_js(value)?,
        client_token,
    })
}

fn read<T: DeserializeOwned>(sent: Result<http::Answer, ()>) -> Result<T, ApiFailure> {
    read_as(sent.map_err(|()| None), |text| json::from_text(text))
}

/// An answer, its 2xx body read by `parse`; `Err(None)` in `sent`: nothing came back, or
/// `Err(Some(_))`: the request was never sent.
fn read_as<T>(
    sent: Result<http::Answer, Option<ApiFailure>>,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, ApiFailure> {
    let answer = sent.map_err(|f| f.unwrap_or(ApiFailure::Unreachable))?;
    let (status, text) = (answer.status, answer.text);
    if answer.ok {
        parse(&text).ok_or(ApiFailure::Malformed(status))
    } else {
        match json::from_text::<ErrorBody>(&text) {
            Some(body) => Err(ApiFailure::Refused {
                status,
                error: body.error,
            }),
            // A gateway in front of the proxy answering HTML, say.
            None if status >= 502 => Err(ApiFailure::Unreachable),
            None => Err(ApiFailure::Malformed(status)),
        }
    }
}
