//! WABA ownership verification through Meta's Graph API (on when `FB_APP_SECRET` is set).
//!
//! The browser posts the `code` from `FB.login` with the WABA id from the popup's message.
//! Either could be invented; the code cannot be, since only Meta issues it for this app. So:
//! 1. `GET {base}/{version}/oauth/access_token?client_id&client_secret&code` → a user token;
//! 2. `GET {base}/{version}/debug_token?input_token={token}&access_token={app_id}|{secret}`;
//! 3. the posted WABA id must be among the `target_ids` of the `whatsapp_business_management`
//!    entry of `data.granular_scopes`.
//!
//! The token lives only in this module's stack frames: never stored, never logged. Both
//! URLs carry secrets in their query, so no URL is logged either, and reqwest's errors are
//! stripped of theirs before they are kept. Neither call is retried: a code works once.

use std::time::Instant;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;
use wire::WabaId;

use crate::config::UpstreamTuning;

/// The permission that lists the WABAs a user granted.
pub const MANAGEMENT_SCOPE: &str = "whatsapp_business_management";

/// Why a sign-up was not verified.
#[derive(Debug, Clone, thiserror::Error)]
pub enum VerifyError {
    /// Meta refused the code (expired, used, forged) or the token it gave is not valid.
    #[error("Meta refused the code")]
    CodeInvalid,
    /// The token does not grant `whatsapp_business_management` on the posted WABA.
    #[error("the WABA is not among the token's granted targets")]
    NotOwned,
    /// Graph could not be asked or answered something unreadable.
    #[error("the Graph API is unavailable: {0}")]
    Unavailable(String),
}

/// The Graph API client for the code exchange.
#[derive(Debug, Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    base_url: Url,
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

#[derive(Deserialize)]
struct GraphErrorBody {
    error: Option<GraphError>,
}

#[derive(Deserialize)]
struct GraphError {
    message: Option<String>,
    code: Option<i64>,
}

impl GraphClient {
    /// A client for `base_url` (e.g. `https://graph.facebook.com`) and `version` (`v22.0`).
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
        let http = tuning.http_client()?;
        Ok(Self {
            http,
            base_url,
            version,
            app_id,
            app_secret,
        })
    }

    /// Exchanges `code` and checks that its token grants `whatsapp_business_management` on
    /// `waba`.
    ///
    /// # Errors
    /// See [`VerifyError`].
    pub async fn verify_ownership(&self, code: &str, waba: &WabaId) -> Result<(), VerifyError> {
        let token = self.exchange(code).await?;
        let data = self.debug_token(&token).await?;
        if data.is_valid == Some(false) {
            return Err(VerifyError::CodeInvalid);
        }
        let owned = data
            .granular_scopes
            .iter()
            .filter(|g| g.scope == MANAGEMENT_SCOPE)
            .any(|g| g.target_ids.iter().any(|t| t == waba.as_str()));
        if owned {
            Ok(())
        } else {
            Err(VerifyError::NotOwned)
        }
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        // Segment-wise, like the YCloud client; the base was checked at start-up.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push(&self.version).extend(segments);
        }
        url
    }

    async fn exchange(&self, code: &str) -> Result<SecretString, VerifyError> {
        let mut url = self.url(&["oauth", "access_token"]);
        url.query_pairs_mut()
            .append_pair("client_id", &self.app_id)
            .append_pair("client_secret", self.app_secret.expose_secret())
            .append_pair("code", code);
        let body = self.get(url, "oauth/access_token").await?;
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|_| VerifyError::Unavailable("unreadable token answer".to_owned()))?;
        answer
            .access_token
            .filter(|t| !t.is_empty())
            .map(SecretString::from)
            .ok_or_else(|| VerifyError::Unavailable("no access_token in the answer".to_owned()))
    }

    async fn debug_token(&self, token: &SecretString) -> Result<DebugData, VerifyError> {
        let mut url = self.url(&["debug_token"]);
        url.query_pairs_mut()
            .append_pair("input_token", token.expose_secret())
            .append_pair(
                "access_token",
                &format!("{}|{}", self.app_id, self.app_secret.expose_secret()),
            );
        let body = self.get(url, "debug_token").await?;
        let answer: DebugAnswer = serde_json::from_slice(&body)
            .map_err(|_| VerifyError::Unavailable("unreadable debug_token answer".to_owned()))?;
        answer
            .data
            .ok_or_else(|| VerifyError::Unavailable("no data in the debug_token answer".to_owned()))
    }

    /// One GET. 4xx: Meta refused (the code, or the token made from it); 5xx, 429 and
    /// transport failures: unavailable. `what` names the call in logs instead of the URL.
    async fn get(&self, url: Url, what: &'static str) -> Result<Vec<u8>, VerifyError> {
        let started = Instant::now();
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            // The URL holds the app secret and the code or token: drop it from the error.
            .map_err(|e| VerifyError::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| VerifyError::Unavailable(e.without_url().to_string()))?;
        tracing::info!(
            call = what,
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Graph call"
        );
        if status.is_success() {
            return Ok(body.to_vec());
        }
        // Graph's own message names the problem (never the secret); worth a log line.
        let error = serde_json::from_slice::<GraphErrorBody>(&body)
            .ok()
            .and_then(|b| b.error);
        tracing::warn!(
            call = what,
            status = status.as_u16(),
            graph_code = error.as_ref().and_then(|e| e.code),
            graph_message = error
                .as_ref()
                .and_then(|e| e.message.as_deref())
                .map(|m| m.chars().take(200).collect::<String>()),
            "Graph refused"
        );
        if status.is_client_error() && status.as_u16() != 429 {
            Err(VerifyError::CodeInvalid)
        } else {
            Err(VerifyError::Unavailable(format!("HTTP {status}")))
        }
    }
}
