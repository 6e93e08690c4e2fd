//! The Graph API client, [`GraphClient`]: Meta's platform, which every sign-up goes through
//! whichever provider registers the number. WABA ownership verification (on when
//! `FB_APP_SECRET` is set), the redirect flow's exchange and grants, and the Cloud API calls
//! of `WHATSAPP_PROVIDER=meta` ([`GraphClient::with_token`], listed in `meta/mod.rs`). All are
//! `{base}/{version}/…` over the upstream layer (`providers::http`), counted as upstream
//! `graph`, and read Graph's error body the same way ([`read_fault`]).
//!
//! The browser posts the `code` from `FB.login` with the WABA id from the popup's message.
//! Either could be invented; the code cannot be, since only Meta issues it for this app. So:
//! 1. `GET {base}/{version}/oauth/access_token?client_id&client_secret&code` → a business
//!    token;
//! 2. `GET {base}/{version}/debug_token?input_token={token}&access_token={app_id}|{secret}`:
//!    the token must be valid, and when the `whatsapp_business_management` entry of
//!    `data.granular_scopes` lists `target_ids`, the WABA must be among them;
//! 3. `GET {base}/{version}/{waba_id}/phone_numbers` with the token must succeed (the token
//!    reaches the WABA), and list the posted phone number id when there is one.
//!
//! Step 3 is the proof. Since June 2026 Meta's `debug_token` often answers Embedded Signup
//! tokens with only `business_management` and `whatsapp_business_manage_events`, without
//! `target_ids` (chatwoot/chatwoot#14690), so `target_ids` are an extra signal, never the
//! only one; a token reaching several WABAs is matched by membership, not position.
//!
//! The token is handed to the caller and never logged: with YCloud it is dropped at once,
//! with `WHATSAPP_PROVIDER=meta` it is sealed (`crate::vault`) before it is stored. The first
//! two URLs carry secrets in their query and the third sends the token in a header, so no URL
//! is logged, and reqwest's errors are stripped of theirs before they are kept. No ownership
//! call is retried: a code works once.
//!
//! `fault.rs` reads Graph's error answers.

use hmac::{Hmac, Mac};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use url::Url;
use wire::{PhoneNumberId, WabaId};

use crate::biz_app::{NumberFacts, FACT_FIELDS, LIST_FIELDS};
use crate::clock::Clock;
use crate::config::UpstreamTuning;
use crate::metrics::Metrics;
use crate::providers::http::{Answer, CallError, Endpoint, HttpError};

mod fault;

pub use fault::{read_fault, BadBody, Fault};

/// The permission that lists the WABAs a user granted.
pub const MANAGEMENT_SCOPE: &str = "whatsapp_business_management";

/// The targets `debug_token` lists for a token (often none since June 2026).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// `whatsapp_business_management`'s target ids: WABAs.
    pub wabas: Vec<String>,
    /// `business_management`'s target ids: business portfolios.
    pub businesses: Vec<String>,
}

/// Why a sign-up was not verified.
#[derive(Debug, Clone, thiserror::Error)]
pub enum VerifyError {
    /// Meta refused the code (expired, used, forged) or the token it gave is not valid.
    #[error("Meta refused the code")]
    CodeInvalid,
    /// The token does not reach the posted WABA (or Meta's granted targets exclude it).
    #[error("the token does not reach the WABA")]
    NotOwned,
    /// The token reaches the WABA, but the posted phone number is not one of its numbers.
    #[error("the phone number is not among the WABA's numbers")]
    NumberNotOwned,
    /// Graph could not be asked or answered something unreadable.
    #[error("the Graph API is unavailable: {0}")]
    Unavailable(String),
}

/// The Graph API client: the ownership check's calls (code exchange, `debug_token`, the
/// WABA's numbers) and the Cloud API calls made with a customer's business token (the Meta
/// provider's `MetaApi`), over one [`Endpoint`] counted as upstream `graph`.
#[derive(Debug, Clone)]
pub struct GraphClient {
    /// `GRAPH_BASE_URL`, the shared client, the retries and the metrics (`graph`).
    endpoint: Endpoint,
    /// `FB_GRAPH_VERSION`: the first path segment of every call.
    version: String,
    app_id: String,
    app_secret: SecretString,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
}

#[derive(Deserialize)]
struct DebugAnswer {
    data: Option<DebugData>,
}

#[derive(Deserialize)]
struct DebugData {
    is_valid: Option<bool>,
    #[serde(default)]
    granular_scopes: Vec<GranularScope>,
}

#[derive(Deserialize)]
struct GranularScope {
    scope: String,
    #[serde(default)]
    target_ids: Vec<String>,
}

/// One page of `GET /{waba_id}/phone_numbers`.
#[derive(Deserialize)]
struct PhoneNumbersPage {
    #[serde(default)]
    data: Vec<NumberFacts>,
    paging: Option<Paging>,
}

/// What a passed ownership check learnt: the customer's business token and the WABA's
/// numbers as Meta describes them (which one is on the WhatsApp Business app).
#[derive(Debug)]
pub struct Owned {
    /// The customer's business token (never logged).
    pub token: SecretString,
    /// Every number of the WABA the token sees.
    pub numbers: Vec<NumberFacts>,
}

#[derive(Deserialize)]
struct Paging {
    cursors: Option<Cursors>,
    /// Present only when another page exists.
    next: Option<String>,
}

#[derive(Deserialize)]
struct Cursors {
    after: Option<String>,
}

/// Numbers asked for per page (Graph's maximum for this edge is higher than any WABA needs).
const NUMBERS_PER_PAGE: &str = "100";
/// Pages read at most: a WABA with more than 1,000 numbers is refused rather than walked.
const MAX_NUMBER_PAGES: usize = 10;

/// How a refusal from Graph is read: which error a 4xx means for this call.
#[derive(Clone, Copy)]
enum Refusal {
    /// The code exchange and `debug_token`: Meta refused the code or its token.
    Code,
    /// `phone_numbers`: the token does not reach the WABA (unless the token itself is bad).
    Waba,
}

impl GraphClient {
    /// A client for `base_url` (e.g. `https://graph.facebook.com`) and `version` (`v22.0`),
    /// for the app `app_id` with its secret.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (TLS backend failure).
    pub fn new(
        base_url: Url,
        version: String,
        app_id: String,
        app_secret: SecretString,
        tuning: &UpstreamTuning,
    ) -> Result<Self, String> {
        Ok(Self {
            endpoint: Endpoint::new("graph", "Graph", base_url, tuning.clone(), Clock::system())?,
            version,
            app_id,
            app_secret,
        })
    }

    /// This client counting its calls in `metrics` (upstream `graph`, the call by its name).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.endpoint = self.endpoint.with_metrics(metrics);
        self
    }

    /// A call with a customer's business token, as a bearer header (never in the URL) and
    /// as `appsecret_proof`: the Cloud API calls of the Meta provider, named `name` in the
    /// metrics, made again only where `may_retry` says (`Retry-After` is not read). A
    /// success must answer a JSON object.
    ///
    /// # Errors
    /// The caller's `E`, from the transport's failure, Graph's error answer or a bad body.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn with_token<E>(
        &self,
        name: &'static str,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<Value>,
        token: &SecretString,
        may_retry: impl Fn(&E) -> bool,
    ) -> Result<Value, E>
    where
        E: CallError + From<HttpError> + From<BadBody>,
    {
        let mut url = self.url(segments);
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
            q.append_pair("appsecret_proof", &self.proof(token));
        }
        self.endpoint
            .call(
                name,
                || {
                    let request = self
                        .endpoint
                        .request(method.clone(), url.clone())
                        .bearer_auth(token.expose_secret());
                    match &body {
                        Some(body) => request.json(body),
                        None => request,
                    }
                },
                |answer| json_object(&answer).map_err(E::from),
                may_retry,
            )
            .await
    }

    /// `appsecret_proof`: hex HMAC-SHA256 of the token, keyed with the app secret.
    fn proof(&self, token: &SecretString) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.app_secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(token.expose_secret().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Exchanges `code` and checks that its token reaches `waba` (and lists `phone` when
    /// one was posted). Answers the customer's business token (the YCloud path drops it
    /// after the sign-up's checks, the Meta provider seals and keeps it for its own calls)
    /// and the WABA's numbers with what decides their path ([`crate::biz_app`]).
    ///
    /// # Errors
    /// See [`VerifyError`].
    pub async fn verify_ownership(
        &self,
        code: &str,
        waba: &WabaId,
        phone: Option<&PhoneNumberId>,
    ) -> Result<Owned, VerifyError> {
        let token = self.exchange(code).await?;
        let data = self.debug_token(&token).await?;
        if data.is_valid == Some(false) {
            return Err(VerifyError::CodeInvalid);
        }
        if let Some(false) = granted_by_target_ids(&data, waba) {
            return Err(VerifyError::NotOwned);
        }
        let numbers = self.phone_numbers(&token, waba).await?;
        match phone {
            Some(phone)
                if !numbers
                    .iter()
                    .any(|n| n.id.as_deref() == Some(phone.as_str())) =>
            {
                Err(VerifyError::NumberNotOwned)
            }
            _ => Ok(Owned { token, numbers }),
        }
    }

    /// `GET /{phone_number_id}?fields=is_on_biz_app,platform_type,…` with the customer's
    /// token: whether the number is on the WhatsApp Business app, read before any register.
    ///
    /// # Errors
    /// See [`VerifyError`] (a refusal reads as [`VerifyError::NumberNotOwned`]).
    pub async fn number_facts(
        &self,
        token: &SecretString,
        phone: &PhoneNumberId,
    ) -> Result<NumberFacts, VerifyError> {
        let mut url = self.url(&[phone.as_str()]);
        url.query_pairs_mut().append_pair("fields", FACT_FIELDS);
        let body = self
            .get(url, Some(token), "number_facts", Refusal::Waba)
            .await
            .map_err(|e| match e {
                VerifyError::NotOwned => VerifyError::NumberNotOwned,
                e => e,
            })?;
        serde_json::from_slice(&body)
            .map_err(|_| VerifyError::Unavailable("unreadable number answer".to_owned()))
    }

    /// `{base}/{version}/{segments}`, segment by segment.
    fn url(&self, segments: &[&str]) -> Url {
        let mut all = Vec::with_capacity(segments.len() + 1);
        all.push(self.version.as_str());
        all.extend_from_slice(segments);
        self.endpoint.url(&all)
    }

    /// The popup's code is exchanged without a `redirect_uri`; the redirect flow's with
    /// exactly the dialog's.
    async fn exchange_with(
        &self,
        code: &str,
        redirect_uri: Option<&str>,
    ) -> Result<SecretString, VerifyError> {
        let mut url = self.url(&["oauth", "access_token"]);
        url.query_pairs_mut()
            .append_pair("client_id", &self.app_id)
            .append_pair("client_secret", self.app_secret.expose_secret())
            .append_pair("code", code);
        if let Some(uri) = redirect_uri {
            url.query_pairs_mut().append_pair("redirect_uri", uri);
        }
        let body = self.get(url, None, "exchange", Refusal::Code).await?;
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|_| VerifyError::Unavailable("unreadable token answer".to_owned()))?;
        answer
            .access_token
            .filter(|t| !t.is_empty())
            .map(SecretString::from)
            .ok_or_else(|| VerifyError::Unavailable("no access_token in the answer".to_owned()))
    }

    async fn exchange(&self, code: &str) -> Result<SecretString, VerifyError> {
        self.exchange_with(code, None).await
    }

    /// The redirect flow's exchange: `redirect_uri` must be exactly the one the dialog was
    /// opened with (Meta answers 36008 otherwise).
    ///
    /// # Errors
    /// See [`VerifyError`].
    pub async fn exchange_redirected(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<SecretString, VerifyError> {
        self.exchange_with(code, Some(redirect_uri)).await
    }

    /// What `debug_token` says `token` was granted: the WABAs (`whatsapp_business_management`)
    /// and businesses (`business_management`) listed as targets, when Meta lists any.
    ///
    /// # Errors
    /// [`VerifyError::CodeInvalid`] for a token Meta calls invalid; unavailability.
    pub async fn grants(&self, token: &SecretString) -> Result<Grants, VerifyError> {
        let data = self.debug_token(token).await?;
        if data.is_valid == Some(false) {
            return Err(VerifyError::CodeInvalid);
        }
        let targets = |scope: &str| -> Vec<String> {
            data.granular_scopes
                .iter()
                .filter(|g| g.scope == scope)
                .flat_map(|g| g.target_ids.iter().cloned())
                .collect()
        };
        Ok(Grants {
            wabas: targets(MANAGEMENT_SCOPE),
            businesses: targets("business_management"),
        })
    }

    /// The numbers `token` sees on `waba`, as Meta describes them;
    /// [`VerifyError::NotOwned`] when the token does not reach it.
    ///
    /// # Errors
    /// See [`VerifyError`].
    pub async fn numbers_of(
        &self,
        token: &SecretString,
        waba: &WabaId,
    ) -> Result<Vec<NumberFacts>, VerifyError> {
        self.phone_numbers(token, waba).await
    }

    /// The WABAs `business` owns and those shared with it as a client, as `token` reads
    /// them (one page of each: a customer signing up does not hold hundreds). An edge the
    /// token may not read counts as empty.
    ///
    /// # Errors
    /// Unavailability, or a token Meta calls invalid.
    pub async fn business_wabas(
        &self,
        token: &SecretString,
        business: &str,
    ) -> Result<Vec<String>, VerifyError> {
        let mut ids = Vec::new();
        for edge in [
            "owned_whatsapp_business_accounts",
            "client_whatsapp_business_accounts",
        ] {
            let mut url = self.url(&[business, edge]);
            url.query_pairs_mut()
                .append_pair("fields", "id")
                .append_pair("limit", NUMBERS_PER_PAGE);
            match self
                .get(url, Some(token), "business_wabas", Refusal::Waba)
                .await
            {
                Ok(body) => {
                    let page: PhoneNumbersPage = serde_json::from_slice(&body).map_err(|_| {
                        VerifyError::Unavailable("unreadable business WABAs answer".to_owned())
                    })?;
                    ids.extend(page.data.into_iter().filter_map(|w| w.id));
                }
                Err(VerifyError::NotOwned) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ids)
    }

    async fn debug_token(&self, token: &SecretString) -> Result<DebugData, VerifyError> {
        let mut url = self.url(&["debug_token"]);
        url.query_pairs_mut()
            .append_pair("input_token", token.expose_secret())
            .append_pair(
                "access_token",
                &format!("{}|{}", self.app_id, self.app_secret.expose_secret()),
            );
        let body = self.get(url, None, "debug_token", Refusal::Code).await?;
        let answer: DebugAnswer = serde_json::from_slice(&body)
            .map_err(|_| VerifyError::Unavailable("unreadable debug_token answer".to_owned()))?;
        answer
            .data
            .ok_or_else(|| VerifyError::Unavailable("no data in the debug_token answer".to_owned()))
    }

    /// Every phone number `token` sees on `waba`, page by page.
    async fn phone_numbers(
        &self,
        token: &SecretString,
        waba: &WabaId,
    ) -> Result<Vec<NumberFacts>, VerifyError> {
        let mut ids = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_NUMBER_PAGES {
            let mut url = self.url(&[waba.as_str(), "phone_numbers"]);
            url.query_pairs_mut()
                .append_pair("fields", LIST_FIELDS)
                .append_pair("limit", NUMBERS_PER_PAGE);
            if let Some(cursor) = &after {
                url.query_pairs_mut().append_pair("after", cursor);
            }
            let body = self
                .get(url, Some(token), "phone_numbers", Refusal::Waba)
                .await?;
            let page: PhoneNumbersPage = serde_json::from_slice(&body).map_err(|_| {
                VerifyError::Unavailable("unreadable phone_numbers answer".to_owned())
            })?;
            ids.extend(page.data);
            after = page
                .paging
                .filter(|p| p.next.is_some())
                .and_then(|p| p.cursors)
                .and_then(|c| c.after);
            if after.is_none() {
                return Ok(ids);
            }
        }
        Err(VerifyError::Unavailable(format!(
            "the WABA lists more than {} pages of numbers",
            MAX_NUMBER_PAGES
        )))
    }

    /// One GET, with `bearer` as the `Authorization` when given; never made again (a code
    /// works once). 4xx: refused, read as `refusal` says; 5xx, 429 and transport failures:
    /// unavailable. `what` names the call in logs (instead of the URL) and metrics.
    async fn get(
        &self,
        url: Url,
        bearer: Option<&SecretString>,
        what: &'static str,
        refusal: Refusal,
    ) -> Result<Vec<u8>, VerifyError> {
        let answered = self
            .endpoint
            .call(
                what,
                || {
                    let request = self.endpoint.request(Method::GET, url.clone());
                    match bearer {
                        Some(token) => request.bearer_auth(token.expose_secret()),
                        None => request,
                    }
                },
                |answer| Ok::<_, HttpError>(answer.body),
                |_| false,
            )
            .await;
        let answer = match answered {
            Ok(body) => return Ok(body),
            Err(HttpError::Status { answer, .. }) => answer,
            Err(e) => return Err(VerifyError::Unavailable(e.to_string())),
        };
        let status = answer.status;
        // Graph's own message names the problem (never the secret); worth a log line.
        let Fault { code, message, .. } = read_fault(&answer.body);
        tracing::warn!(
            call = what,
            status = status.as_u16(),
            graph_code = code,
            graph_message = message.map(|m| m.chars().take(200).collect::<String>()),
            "Graph refused"
        );
        if !status.is_client_error() || status.as_u16() == 429 {
            return Err(VerifyError::Unavailable(format!("HTTP {status}")));
        }
        // Graph's code 190 is an invalid or expired token, whichever call meets it.
        let bad_token = code == Some(190);
        Err(match refusal {
            Refusal::Waba if !bad_token => VerifyError::NotOwned,
            Refusal::Code | Refusal::Waba => VerifyError::CodeInvalid,
        })
    }
}

/// A success answer's body, which must be a JSON object.
fn json_object(answer: &Answer) -> Result<Value, BadBody> {
    let status = answer.status.as_u16();
    let value: Value = serde_json::from_slice(&answer.body).map_err(|e| BadBody {
        status,
        cause: format!("not JSON: {e}"),
    })?;
    if !value.is_object() {
        return Err(BadBody {
            status,
            cause: "not a JSON object".to_owned(),
        });
    }
    Ok(value)
}

/// What `debug_token`'s `target_ids` say of `waba`: `Some(true)` granted, `Some(false)`
/// listed targets exclude it, `None` no targets listed (Meta's answer since June 2026).
fn granted_by_target_ids(data: &DebugData, waba: &WabaId) -> Option<bool> {
    let mut targets = data
        .granular_scopes
        .iter()
        .filter(|g| g.scope == MANAGEMENT_SCOPE)
        .flat_map(|g| &g.target_ids)
        .peekable();
    targets.peek()?;
    Some(targets.any(|t| t == waba.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn debug(json: serde_json::Value) -> DebugData {
        serde_json::from_value::<DebugAnswer>(json)
            .unwrap()
            .data
            .unwrap()
    }

    #[test]
    fn target_ids_are_a_signal_only_when_meta_sends_them() {
        let waba = WabaId::parse("104996122399160").unwrap();
        // Meta's answer since June 2026: no whatsapp_business_management, no target ids.
        let new = debug(
            serde_json::json!({"data": {"is_valid": true, "granular_scopes": [
            {"scope": "business_management"}, {"scope": "whatsapp_business_manage_events"}]}}),
        );
        assert_eq!(granted_by_target_ids(&new, &waba), None);
        // Several WABAs: membership, whatever the position.
        let several = debug(serde_json::json!({"data": {"granular_scopes": [
            {"scope": "whatsapp_business_messaging", "target_ids": ["9"]},
            {"scope": "whatsapp_business_management", "target_ids": ["1", "104996122399160"]}]}}));
        assert_eq!(granted_by_target_ids(&several, &waba), Some(true));
        let other = debug(serde_json::json!({"data": {"granular_scopes": [
            {"scope": "whatsapp_business_management", "target_ids": ["1"]},
            {"scope": "whatsapp_business_messaging", "target_ids": ["104996122399160"]}]}}));
        assert_eq!(granted_by_target_ids(&other, &waba), Some(false));
        let empty = debug(serde_json::json!({"data": {"granular_scopes": [
            {"scope": "whatsapp_business_management", "target_ids": []}]}}));
        assert_eq!(granted_by_target_ids(&empty, &waba), None);
    }
}
