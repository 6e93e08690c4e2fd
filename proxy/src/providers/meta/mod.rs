//! Meta's Cloud API directly (`WHATSAPP_PROVIDER=meta`): the Graph API calls that onboard a
//! number without a BSP, with the customer's business token from the code exchange.
//!
//! Paths (relative to `GRAPH_BASE_URL`, with `FB_GRAPH_VERSION`):
//! - `POST /{v}/{waba_id}/subscribed_apps`: the partner's app gets the WABA's webhooks;
//! - `POST /{v}/{phone_number_id}/register` with `{"messaging_product":"whatsapp","pin",
//!   "data_localization_region"?}`;
//! - `POST /{v}/{phone_number_id}/deregister`;
//! - `POST /{v}/{phone_number_id}/smb_app_data` with `{"messaging_product":"whatsapp",
//!   "sync_type":"smb_app_state_sync"|"history"}` (coexistence, once each);
//! - `GET /{v}/{phone_number_id}?fields=status,code_verification_status,name_status,
//!   display_phone_number,verified_name,quality_rating,is_on_biz_app,platform_type`;
//! - `GET /{v}/{waba_id}/phone_numbers` (a coexistence finish that named no number).
//!
//! The calls go through [`GraphClient::with_token`], the same Graph client as the ownership
//! check: every call carries the token as a bearer header (never in the URL) and
//! `appsecret_proof` (HMAC-SHA256 of the token with the app secret), which Meta checks when
//! the app requires it; the upstream layer (`providers::http`) follows no redirect, reads at
//! most `UpstreamTuning::max_body_bytes` of an answer, and counts each call in the metrics
//! (as upstream `graph`). A call is repeated only when nothing reached Meta (the connection
//! failed), and a read also after a timeout or a 5xx: a register or deregister that reached
//! Meta counts against the number's budget, and a second sync request is refused.
//!
//! # Files
//! - this file: [`MetaApi`] (real or sandbox) and [`Direct`], what the pipeline holds;
//! - `errors.rs`: [`MetaError`] and what each failure means for an onboarding;
//! - `fake.rs`: [`FakeMeta`], the sandbox's Meta;
//! - `pin.rs`: PINs the proxy generates;
//! - `provider.rs`: [`Direct`] as the pipeline's provider;
//! - `run.rs`: the run and the follower; `actions.rs`: the customer's PIN, the partner's view
//!   of the credentials, deregistering; `create.rs`: an onboarding created with the token;
//! - `rules.rs`: what a Meta webhook change changes;
//! - `sync.rs`: a coexistence number's contacts and history sync, read from Meta's webhooks;
//! - `webhook.rs`: Meta's webhooks (handshake, `X-Hub-Signature-256`, the notification).

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use wire::{PhoneNumberId, StorageRegion, WabaId};

use crate::vault::Vault;

mod actions;
mod create;
mod errors;
mod fake;
pub mod pin;
mod provider;
pub mod routes;
mod rules;
mod run;
pub mod sync;
pub mod webhook;

pub use crate::providers::graph::GraphClient;
pub use errors::{
    MetaError, Op, NOT_REGISTERED, PIN_GUESSED_TOO_FAST, PIN_MISMATCH, REQUEST_LIMIT,
    TOO_MANY_PIN_GUESSES,
};
pub use fake::FakeMeta;

/// The fields of a phone number the proxy reads (and keeps); `is_on_biz_app` and
/// `platform_type` confirm a coexistence onboarding ([`crate::biz_app`]).
pub const NUMBER_FIELDS: &str = "id,status,code_verification_status,name_status,\
display_phone_number,verified_name,quality_rating,is_on_biz_app,platform_type";

/// The fields of `GET /{phone_number_id}` a health read asks for
/// (`whatsapp_business_manager_messaging_limit`: `messaging_limit_tier` is deprecated).
pub const HEALTH_FIELDS: &str = "id,status,quality_rating,\
whatsapp_business_manager_messaging_limit,name_status,code_verification_status,platform_type";

/// Which chat data a coexistence number shares, asked once each (`smb_app_data`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncType {
    /// Contacts: `smb_app_state_sync`.
    Contacts,
    /// Chat history: `history`.
    History,
}

impl SyncType {
    /// Meta's `sync_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncType::Contacts => "smb_app_state_sync",
            SyncType::History => "history",
        }
    }
}

/// The register body: the PIN, and the local-storage region when one is asked for.
pub fn register_body(pin: &str, region: Option<&StorageRegion>) -> Value {
    let mut body = json!({"messaging_product": "whatsapp", "pin": pin});
    if let Some(region) = region {
        body["data_localization_region"] = Value::from(region.as_str());
    }
    body
}

/// Where the Cloud API calls go: Meta's Graph API, or the sandbox's fake.
#[derive(Debug)]
pub enum MetaApi {
    /// The Graph API (boxed: the client is much larger than the fake).
    Http(Box<GraphClient>),
    /// Sandbox mode.
    Sandbox(FakeMeta),
}

impl MetaApi {
    /// `POST /{waba_id}/subscribed_apps`.
    ///
    /// # Errors
    /// See [`MetaError`].
    pub async fn subscribe_app(
        &self,
        token: &SecretString,
        waba: &WabaId,
    ) -> Result<Value, MetaError> {
        match self {
            MetaApi::Http(c) => {
                c.with_token(
                    Op::SubscribeApp.as_str(),
                    Method::POST,
                    &[waba.as_str(), "subscribed_apps"],
                    &[],
                    None,
                    token,
                    |e: &MetaError| e.may_retry(Op::SubscribeApp),
                )
                .await
            }
            MetaApi::Sandbox(f) => f.subscribe_app(waba),
        }
    }

    /// `POST /{phone_number_id}/register`.
    ///
    /// # Errors
    /// See [`MetaError`].
    pub async fn register(
        &self,
        token: &SecretString,
        waba: &WabaId,
        phone: &PhoneNumberId,
        pin: &SecretString,
        region: Option<&StorageRegion>,
    ) -> Result<Value, MetaError> {
        match self {
            MetaApi::Http(c) => {
                c.with_token(
                    Op::Register.as_str(),
                    Method::POST,
                    &[phone.as_str(), "register"],
                    &[],
                    Some(register_body(pin.expose_secret(), region)),
                    token,
                    |e: &MetaError| e.may_retry(Op::Register),
                )
                .await
            }
            MetaApi::Sandbox(f) => f.register(waba, phone, pin.expose_secret()),
        }
    }

    /// `POST /{phone_number_id}/deregister`.
    ///
    /// # Errors
    /// See [`MetaError`].
    pub async fn deregister(
        &self,
        token: &SecretString,
        phone: &PhoneNumberId,
    ) -> Result<Value, MetaError> {
        match self {
            MetaApi::Http(c) => {
                c.with_token(
                    Op::Deregister.as_str(),
                    Method::POST,
                    &[phone.as_str(), "deregister"],
                    &[],
                    None,
                    token,
                    |e: &MetaError| e.may_retry(Op::Deregister),
                )
                .await
            }
            MetaApi::Sandbox(f) => f.deregister(phone),
        }
    }

    /// `POST /{phone_number_id}/smb_app_data`.
    ///
    /// # Errors
    /// See [`MetaError`].
    pub async fn sync(
        &self,
        token: &SecretString,
        phone: &PhoneNumberId,
        sync: SyncType,
    ) -> Result<Value, MetaError> {
        match self {
            MetaApi::Http(c) => {
                c.with_token(
                    Op::Sync.as_str(),
                    Method::POST,
                    &[phone.as_str(), "smb_app_data"],
                    &[],
                    Some(json!({"messaging_product": "whatsapp", "sync_type": sync.as_str()})),
                    token,
                    |e: &MetaError| e.may_retry(Op::Sync),
                )
                .await
            }
            MetaApi::Sandbox(f) => f.sync(phone, sync),
        }
    }

    /// `GET /{phone_number_id}?fields=…`.
    ///
    /// # Errors
    /// See [`MetaError`].
    pub async fn number(
        &self,
        token: &SecretString,
        phone: &PhoneNumberId,
    ) -> Result<Value, MetaError> {
        match self {
            MetaApi::Http(c) => {
                c.with_token(
                    Op::ReadNumber.as_str(),
                    Method::GET,
                    &[phone.as_str()],
                    &[("fields", NUMBER_FIELDS)],
                    None,
                    token,
                    |e: &MetaError| e.may_retry(Op::ReadNumber),
                )
                .await
            }
            MetaApi::Sandbox(f) => f.number(phone),
        }
    }

    /// `GET /{phone_number_id}?fields=…` with [`HEALTH_FIELDS`].
    ///
    /// # Errors
    /// See [`MetaError`].
    pub async fn health(
        &self,
        token: &SecretString,
        phone: &PhoneNumberId,
    ) -> Result<Value, MetaError> {
        match self {
            MetaApi::Http(c) => {
                c.with_token(
                    Op::ReadNumber.as_str(),
                    Method::GET,
                    &[phone.as_str()],
                    &[("fields", HEALTH_FIELDS)],
                    None,
                    token,
                    |e: &MetaError| e.may_retry(Op::ReadNumber),
                )
                .await
            }
            MetaApi::Sandbox(f) => f.number(phone),
        }
    }

    /// `GET /{waba_id}/subscribed_apps`: the apps the WABA's webhooks go to.
    ///
    /// # Errors
    /// See [`MetaError`].
    pub async fn subscribed_apps(
        &self,
        token: &SecretString,
        waba: &WabaId,
    ) -> Result<Value, MetaError> {
        match self {
            MetaApi::Http(c) => {
                c.with_token(
                    Op::ReadSubscriptions.as_str(),
                    Method::GET,
                    &[waba.as_str(), "subscribed_apps"],
                    &[],
                    None,
                    token,
                    |e: &MetaError| e.may_retry(Op::ReadSubscriptions),
                )
                .await
            }
            MetaApi::Sandbox(_) => Ok(json!({"data": [{"whatsapp_business_api_data": {
                "id": crate::config::SANDBOX_APP_ID, "name": "Sandbox app"}}]})),
        }
    }

    /// `GET /{waba_id}/phone_numbers?fields=…`: the WABA's numbers (the first page, which
    /// holds every number a customer's WABA has in practice).
    ///
    /// # Errors
    /// See [`MetaError`].
    pub async fn numbers(
        &self,
        token: &SecretString,
        waba: &WabaId,
    ) -> Result<Vec<crate::biz_app::NumberFacts>, MetaError> {
        let answer = match self {
            MetaApi::Http(c) => {
                c.with_token(
                    Op::ReadNumber.as_str(),
                    Method::GET,
                    &[waba.as_str(), "phone_numbers"],
                    &[("fields", crate::biz_app::LIST_FIELDS), ("limit", "100")],
                    None,
                    token,
                    |e: &MetaError| e.may_retry(Op::ReadNumber),
                )
                .await?
            }
            MetaApi::Sandbox(_) => json!({"data": []}),
        };
        Ok(answer
            .get("data")
            .and_then(|d| serde_json::from_value(d.clone()).ok())
            .unwrap_or_default())
    }
}

/// What the pipeline holds with the Meta provider: the API, the vault that seals tokens and
/// PINs, and the default local-storage region.
#[derive(Debug)]
pub struct Direct {
    /// Meta (or the sandbox's fake).
    pub api: MetaApi,
    /// Seals and opens what is stored.
    pub vault: Vault,
    /// `DATA_LOCALIZATION_REGION`.
    pub default_region: Option<StorageRegion>,
    /// `FB_APP_ID`: the app whose subscription to a WABA a health read looks for.
    pub app_id: String,
}
