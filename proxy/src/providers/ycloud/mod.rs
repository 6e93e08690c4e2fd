//! The YCloud client: the six calls the onboarding needs, typed, with YCloud's error body
//! parsed and retries only where a retry cannot do harm.
//!
//! Paths (relative to `YCLOUD_BASE_URL`, normally `https://api.ycloud.com/v2`):
//! - `POST /whatsapp/businessAccounts/{wabaId}/tp/bind` (YCloud's Embedded Signup guide; not
//!   in the OpenAPI file yet, see `tests/api/openapi_conformance.rs`)
//! - `POST /whatsapp/businessAccounts/{wabaId}/smb/bind` (the same guide, likewise)
//! - `POST /whatsapp/phoneNumbers/{wabaId}/{phoneNumberId}/register`
//! - `GET /whatsapp/businessAccounts/{id}`
//! - `GET /whatsapp/phoneNumbers/{wabaId}/{phoneNumber}` (E.164 number)
//! - `GET /whatsapp/phoneNumbers?filter.wabaId=` (the WABA's numbers: a number whose register
//!   waits for its display name is known by its id only)
//!
//! # Retries
//! A retry is made only when it cannot change what happened at YCloud or Meta:
//! - GETs: on connect errors, timeouts, 429, 500, 502, 503, 504 and unreadable bodies.
//! - binds (`tp/bind`, `smb/bind`): on connect errors (nothing was sent), 429 (YCloud's rate
//!   limiter answers before processing) and 503 (the gateway had no backend). A bind is not
//!   retried after a timeout or a 500: YCloud may have bound already, and whether a second
//!   bind of a bound WABA answers the WABA or an error is not documented.
//! - register: only on connect errors and 429. Each register that reaches Meta counts
//!   against the number's 10 per 72 hours, so a timeout or 5xx is reported, not repeated;
//!   the onboarding's `retry` is the person's decision.
//!
//! A `Retry-After` is honoured up to `UpstreamTuning::max_retry_after`; a longer one ends the
//! call at once with the hint, which the onboarding error carries as `retry_after`.
//!
//! # Files
//! - this file: [`YCloudClient`], its retry rule, and [`Upstream`] (real or sandbox);
//! - `types.rs`: the objects and error bodies read from YCloud;
//! - `errors.rs`: [`UpstreamError`] and the onboarding error each failure becomes;
//! - `provider.rs`: [`Upstream`] as the pipeline's provider;
//! - `run.rs`: the standard and coexistence runs and the follower;
//! - `events.rs` and `rules.rs`: YCloud's webhook events, and what each changes;
//! - `webhook.rs`: YCloud's webhook signature and envelope;
//! - `fake/`: the sandbox's YCloud.

use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;
use wire::{PhoneNumberId, WabaId};

use crate::clock::Clock;
use crate::config::UpstreamTuning;
use crate::metrics::Metrics;
use crate::providers::http::Endpoint;
use crate::providers::ycloud::fake::FakeYCloud;

mod errors;
mod events;
pub mod fake;
mod provider;
pub mod routes;
pub(crate) mod rules;
mod run;
mod types;
pub mod webhook;

pub use errors::UpstreamError;
pub use types::{
    name_ready, ErrorDetail, ErrorResponse, Object, PhoneNumber, PhoneNumberPage, Waba,
    WhatsappApiError,
};

/// The header carrying the API key.
pub const API_KEY_HEADER: &str = "X-API-Key";
/// The header mirroring the error body's `requestId`.
pub const REQUEST_ID_HEADER: &str = "YCloud-Request-ID";

/// What a retry of a call could do at YCloud, which decides when the client retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// A read: always harmless.
    Read,
    /// A bind: only when YCloud cannot have processed it.
    Bind,
    /// A register: only when the request cannot have reached Meta.
    Register,
}

impl Retry {
    fn allows(self, e: &UpstreamError) -> bool {
        match e {
            UpstreamError::Connect(_) => true,
            UpstreamError::Status { status: 429, .. } => true,
            UpstreamError::Status { status: 503, .. } => matches!(self, Retry::Read | Retry::Bind),
            UpstreamError::Status {
                status: 500 | 502 | 504,
                ..
            }
            | UpstreamError::Timeout
            | UpstreamError::Transport(_)
            | UpstreamError::BadBody { .. } => self == Retry::Read,
            UpstreamError::Status { .. } => false,
        }
    }
}

/// The HTTP client for YCloud.
#[derive(Debug, Clone)]
pub struct YCloudClient {
    /// YCloud's base URL, the shared client, the retries and the metrics (`ycloud`).
    endpoint: Endpoint,
    api_key: SecretString,
}

impl YCloudClient {
    /// A client for `base_url` (e.g. `https://api.ycloud.com/v2`).
    ///
    /// # Errors
    /// When the HTTP client cannot be built (TLS backend failure).
    pub fn new(
        base_url: Url,
        api_key: SecretString,
        tuning: UpstreamTuning,
        clock: Clock,
    ) -> Result<Self, String> {
        Ok(Self {
            endpoint: Endpoint::new("ycloud", "YCloud", base_url, tuning, clock)?,
            api_key,
        })
    }

    /// This client counting its calls in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.endpoint = self.endpoint.with_metrics(metrics);
        self
    }

    /// `POST /whatsapp/businessAccounts/{wabaId}/tp/bind`: binds the WABA to the partner and
    /// attaches YCloud's credit line.
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn tp_bind(&self, waba: &WabaId) -> Result<Object<Waba>, UpstreamError> {
        self.call(
            Method::POST,
            &["whatsapp", "businessAccounts", waba.as_str(), "tp", "bind"],
            Retry::Bind,
            "tp_bind",
        )
        .await
    }

    /// `POST /whatsapp/businessAccounts/{wabaId}/smb/bind`: coexistence; answers the number.
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn smb_bind(&self, waba: &WabaId) -> Result<Object<PhoneNumber>, UpstreamError> {
        self.call(
            Method::POST,
            &["whatsapp", "businessAccounts", waba.as_str(), "smb", "bind"],
            Retry::Bind,
            "smb_bind",
        )
        .await
    }

    /// `POST /whatsapp/phoneNumbers/{wabaId}/{phoneNumberId}/register`.
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn register(
        &self,
        waba: &WabaId,
        phone_number_id: &PhoneNumberId,
    ) -> Result<Object<PhoneNumber>, UpstreamError> {
        self.call(
            Method::POST,
            &[
                "whatsapp",
                "phoneNumbers",
                waba.as_str(),
                phone_number_id.as_str(),
                "register",
            ],
            Retry::Register,
            "register",
        )
        .await
    }

    /// `GET /whatsapp/businessAccounts/{id}`.
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn retrieve_waba(&self, waba: &WabaId) -> Result<Object<Waba>, UpstreamError> {
        self.call(
            Method::GET,
            &["whatsapp", "businessAccounts", waba.as_str()],
            Retry::Read,
            "get_waba",
        )
        .await
    }

    /// `GET /whatsapp/phoneNumbers/{wabaId}/{phoneNumber}` with the E.164 number.
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn retrieve_phone_number(
        &self,
        waba: &WabaId,
        e164: &str,
    ) -> Result<Object<PhoneNumber>, UpstreamError> {
        self.call(
            Method::GET,
            &["whatsapp", "phoneNumbers", waba.as_str(), e164],
            Retry::Read,
            "get_phone_number",
        )
        .await
    }

    /// `GET /whatsapp/phoneNumbers?filter.wabaId={waba}&limit=100`: the WABA's numbers
    /// (`items`), by id too; a WABA has a handful.
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn list_phone_numbers(
        &self,
        waba: &WabaId,
    ) -> Result<Object<PhoneNumberPage>, UpstreamError> {
        let query = [("filter.wabaId", waba.as_str()), ("limit", "100")];
        self.call_with(
            Method::GET,
            &["whatsapp", "phoneNumbers"],
            &query,
            Retry::Read,
            "list_phone_numbers",
        )
        .await
    }

    /// `name` labels the call in the metrics (`tp_bind`, `register`...).
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        retry: Retry,
        name: &'static str,
    ) -> Result<Object<T>, UpstreamError> {
        self.call_with(method, segments, &[], retry, name).await
    }

    /// [`YCloudClient::call`] with a query string.
    async fn call_with<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        retry: Retry,
        name: &'static str,
    ) -> Result<Object<T>, UpstreamError> {
        let mut url = self.endpoint.url(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut key = HeaderValue::from_str(self.api_key.expose_secret()).map_err(|_| {
            UpstreamError::Transport("the API key is not a valid header value".into())
        })?;
        // Keeps the key out of any header dump (hyper, reqwest, tracing).
        key.set_sensitive(true);
        self.endpoint
            .call(
                name,
                || {
                    self.endpoint
                        .request(method.clone(), url.clone())
                        .header(API_KEY_HEADER, key.clone())
                },
                |answer| {
                    parse_object(
                        answer.status,
                        errors::request_id(&answer.headers),
                        &answer.body,
                    )
                },
                |e| retry.allows(e),
            )
            .await
    }
}

fn parse_object<T: DeserializeOwned>(
    status: StatusCode,
    request_id: Option<String>,
    body: &[u8],
) -> Result<Object<T>, UpstreamError> {
    let bad = |cause: String| UpstreamError::BadBody {
        status: status.as_u16(),
        request_id: request_id.clone(),
        cause,
    };
    let raw: Value = serde_json::from_slice(body).map_err(|e| bad(format!("not JSON: {e}")))?;
    if !raw.is_object() {
        return Err(bad("not a JSON object".to_owned()));
    }
    let typed = T::deserialize(&raw).map_err(|e| bad(e.to_string()))?;
    Ok(Object { typed, raw })
}

/// Where the onboarding's calls go: the real YCloud, or the in-process fake.
#[derive(Debug)]
pub enum Upstream {
    /// `YCLOUD_API_KEY` is set.
    Http(YCloudClient),
    /// Sandbox mode.
    Sandbox(FakeYCloud),
}

impl Upstream {
    /// See [`YCloudClient::tp_bind`].
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn tp_bind(&self, waba: &WabaId) -> Result<Object<Waba>, UpstreamError> {
        match self {
            Upstream::Http(c) => c.tp_bind(waba).await,
            Upstream::Sandbox(f) => f.tp_bind(waba),
        }
    }

    /// See [`YCloudClient::smb_bind`].
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn smb_bind(&self, waba: &WabaId) -> Result<Object<PhoneNumber>, UpstreamError> {
        match self {
            Upstream::Http(c) => c.smb_bind(waba).await,
            Upstream::Sandbox(f) => f.smb_bind(waba),
        }
    }

    /// See [`YCloudClient::register`].
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn register(
        &self,
        waba: &WabaId,
        phone_number_id: &PhoneNumberId,
    ) -> Result<Object<PhoneNumber>, UpstreamError> {
        match self {
            Upstream::Http(c) => c.register(waba, phone_number_id).await,
            Upstream::Sandbox(f) => f.register(waba, phone_number_id),
        }
    }

    /// See [`YCloudClient::retrieve_waba`].
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn retrieve_waba(&self, waba: &WabaId) -> Result<Object<Waba>, UpstreamError> {
        match self {
            Upstream::Http(c) => c.retrieve_waba(waba).await,
            Upstream::Sandbox(f) => f.retrieve_waba(waba),
        }
    }

    /// The number `id` of `waba` as YCloud's list of the WABA's numbers shows it; `None`
    /// when the list does not hold it. See [`YCloudClient::list_phone_numbers`].
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn find_phone_number(
        &self,
        waba: &WabaId,
        id: &PhoneNumberId,
    ) -> Result<Option<Value>, UpstreamError> {
        let page = match self {
            Upstream::Http(c) => c.list_phone_numbers(waba).await?,
            Upstream::Sandbox(f) => f.list_phone_numbers(waba)?,
        };
        Ok(page
            .typed
            .items
            .into_iter()
            .find(|n| n.get("id").and_then(Value::as_str) == Some(id.as_str())))
    }

    /// See [`YCloudClient::retrieve_phone_number`].
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn retrieve_phone_number(
        &self,
        waba: &WabaId,
        e164: &str,
    ) -> Result<Object<PhoneNumber>, UpstreamError> {
        match self {
            Upstream::Http(c) => c.retrieve_phone_number(waba, e164).await,
            Upstream::Sandbox(f) => f.retrieve_phone_number(waba, e164),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_rules() {
        let s = |status| UpstreamError::Status {
            status,
            detail: None,
            request_id: None,
            retry_after: None,
        };
        assert!(Retry::Register.allows(&s(429)));
        assert!(!Retry::Register.allows(&s(503)));
        assert!(!Retry::Register.allows(&UpstreamError::Timeout));
        assert!(Retry::Bind.allows(&s(503)));
        assert!(!Retry::Bind.allows(&s(500)));
        assert!(Retry::Read.allows(&s(500)));
        assert!(Retry::Read.allows(&UpstreamError::Timeout));
        assert!(!Retry::Read.allows(&s(404)));
    }

    #[test]
    fn objects_keep_unknown_fields() {
        let body = br#"{"id":"1","paymentMethodAttached":false,"brandNew":{"x":1}}"#;
        let o: Object<Waba> = parse_object(StatusCode::OK, None, body).unwrap();
        assert_eq!(o.typed.payment_method_attached, Some(false));
        assert_eq!(o.raw["brandNew"]["x"], 1);
        assert!(parse_object::<Waba>(StatusCode::OK, None, b"<html>").is_err());
        assert!(parse_object::<Waba>(StatusCode::OK, None, b"[1]").is_err());
    }
}
