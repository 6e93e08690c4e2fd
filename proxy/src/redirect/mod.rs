//! The redirect flow: the full-page sign-in for browsers where Meta's popup cannot open (in-app
//! browsers, blocked popups, a blocked SDK).
//!
//! 1. `POST /api/oauth/start` admits the page's session like `POST /api/onboardings` would and
//!    issues a signed, single-use `state` ([`state`]) bound to the session and the mode;
//! 2. the page sends the browser to Meta's login dialog with the same `extras` as its popup;
//! 3. `GET /oauth/callback` checks the state, exchanges the code with the same `redirect_uri`,
//!    and finds what the customer shared ([`discover`]): with no session-info message to
//!    name the WABA, every candidate must be one the customer's token reaches, and the
//!    customer picks when there are several — never a guess;
//! 4. the onboarding goes through the same pipeline as the popup's, and the page picks its
//!    result up with a single-use handle in its fragment (`POST /api/oauth/result`).
//!
//! - this file: [`RedirectFlow`] (the settings), [`Candidate`], [`discover`];
//! - `state.rs`: signing and reading the `state`;
//! - `page.rs`: the proxy's own pages on the way back (localized sentences, a chooser).

use std::collections::BTreeSet;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;
use wire::{BusinessId, PhoneNumberId, WabaId};

use crate::providers::graph::{GraphClient, VerifyError};
use crate::store::Store;

pub mod page;
pub mod state;

pub use state::{Claims, StateError, StateKey};

/// The path Meta's dialog comes back to.
pub const CALLBACK_PATH: &str = "/oauth/callback";
/// The sandbox's stand-in for Meta's dialog.
pub const SANDBOX_DIALOG_PATH: &str = "/sandbox/dialog/oauth";
/// How long a finished flow's result waits for its page.
pub const RESULT_LIFETIME: time::Duration = time::Duration::minutes(10);
/// WABAs checked at most per flow: each costs a Graph call.
const MAX_WABAS: usize = 20;
/// Prefix of the sandbox dialog's codes, which name what the customer "shared".
pub const SANDBOX_CODE_PREFIX: &str = "sandbox.";

/// The redirect flow's settings (on when `REDIRECT_FLOW` allows it).
#[derive(Debug, Clone)]
pub struct RedirectFlow {
    /// Signs the states.
    pub key: StateKey,
    /// `{PUBLIC_URL}/oauth/callback`: the dialog's and the exchange's `redirect_uri`.
    pub redirect_uri: String,
    /// Meta's dialog (or the sandbox's stand-in).
    pub dialog_url: String,
    /// The standalone page, where a flow without a return address lands.
    pub landing: String,
}

impl RedirectFlow {
    /// The flow for a proxy reached at `public_url`; `sandbox`: the stand-in dialog.
    pub fn new(key: StateKey, public_url: &Url, graph_version: &str, sandbox: bool) -> Self {
        let base = public_url.as_str().trim_end_matches('/');
        let dialog_url = match sandbox {
            true => format!("{base}{SANDBOX_DIALOG_PATH}"),
            false => format!("https://www.facebook.com/{graph_version}/dialog/oauth"),
        };
        RedirectFlow {
            key,
            redirect_uri: format!("{base}{CALLBACK_PATH}"),
            dialog_url,
            landing: format!("{base}/"),
        }
    }

    /// Where the customer lands with a result's `handle` in the fragment: the session's
    /// `return_url` (its own fragment replaced) when its origin is one of `allowed` (the
    /// partner's page, whose widget reads `POST /api/oauth/result` through CORS), else the
    /// standalone page. The origin is checked again here, as `ALLOWED_ORIGINS` may have
    /// changed since the session was created.
    pub fn landing_for(
        &self,
        return_url: Option<&str>,
        allowed: &[String],
        handle: &str,
    ) -> String {
        let fragment = format!("{}={handle}", wire::RESULT_FRAGMENT);
        let back = return_url
            .and_then(|u| Url::parse(u).ok())
            .filter(|u| matches!(u.scheme(), "https" | "http"))
            .filter(|u| {
                let origin = u.origin().ascii_serialization();
                allowed.iter().any(|a| *a == origin)
            });
        match back {
            Some(mut url) => {
                url.set_fragment(Some(&fragment));
                url.into()
            }
            None => format!("{}#{fragment}", self.landing),
        }
    }
}

/// One WABA and number the customer's token reaches: what an onboarding is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The WABA.
    pub waba_id: WabaId,
    /// One of its numbers (none: the WABA has none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<PhoneNumberId>,
    /// The business portfolio, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_id: Option<BusinessId>,
    /// The number as the customer knows it (for the chooser).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_phone_number: Option<String>,
    /// The business name on the number (for the chooser).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_name: Option<String>,
    /// What Meta says of the number: on the WhatsApp Business app (then coexistence, never
    /// registered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_on_biz_app: Option<bool>,
}

/// Where a WABA id came from, with the business that owns it when known.
struct Lead {
    waba: String,
    business: Option<String>,
}

/// Finds every WABA and number the customer's `token` reaches among Meta's leads:
/// `debug_token`'s granted WABAs (when Meta lists them), the `PARTNER_ADDED` webhooks received
/// since the flow began (`since`; of the token's businesses when those are known), and the
/// WABAs of the businesses the token was granted. Each lead counts only when the token
/// reads its numbers; the result is sorted, so no position means anything.
///
/// # Errors
/// [`VerifyError::CodeInvalid`] (a token Meta calls invalid) or unavailability.
pub async fn discover(
    graph: &GraphClient,
    store: &Store,
    token: &SecretString,
    since: OffsetDateTime,
) -> Result<Vec<Candidate>, VerifyError> {
    let grants = graph.grants(token).await?;
    let mut leads: Vec<Lead> = grants
        .wabas
        .iter()
        .map(|w| Lead {
            waba: w.clone(),
            business: None,
        })
        .collect();
    match store.partner_added_since(since).await {
        Ok(added) => leads.extend(
            added
                .into_iter()
                .filter(|(_, owner)| match (owner, grants.businesses.is_empty()) {
                    (Some(owner), false) => grants.businesses.contains(owner),
                    _ => true,
                })
                .map(|(waba, business)| Lead { waba, business }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "redirect flow: stored PARTNER_ADDED webhooks not readable")
        }
    }
    for business in &grants.businesses {
        for waba in graph.business_wabas(token, business).await? {
            leads.push(Lead {
                waba,
                business: Some(business.clone()),
            });
        }
    }
    let mut seen = BTreeSet::new();
    let mut candidates = Vec::new();
    for lead in leads {
        let Ok(waba) = WabaId::parse(lead.waba.as_str()) else {
            continue;
        };
        if !seen.insert(waba.as_str().to_owned()) {
            continue;
        }
        if seen.len() > MAX_WABAS {
            tracing::warn!("redirect flow: the token reaches more than {MAX_WABAS} WABAs; the rest are not offered");
            break;
        }
        let numbers = match graph.numbers_of(token, &waba).await {
            Ok(numbers) => numbers,
            // A lead the token does not reach is not the customer's.
            Err(VerifyError::NotOwned) => continue,
            Err(e) => return Err(e),
        };
        let business_id = lead.business.and_then(|b| BusinessId::parse(b).ok());
        if numbers.is_empty() {
            candidates.push(Candidate {
                waba_id: waba.clone(),
                phone_number_id: None,
                business_id: business_id.clone(),
                display_phone_number: None,
                verified_name: None,
                is_on_biz_app: None,
            });
        }
        for n in numbers {
            let Some(Ok(phone)) = n.id.map(PhoneNumberId::parse) else {
                continue;
            };
            candidates.push(Candidate {
                waba_id: waba.clone(),
                phone_number_id: Some(phone),
                business_id: business_id.clone(),
                display_phone_number: n.display_phone_number,
                verified_name: None,
                is_on_biz_app: n.is_on_biz_app,
            });
        }
    }
    candidates.sort_by(|a, b| {
        (
            a.waba_id.as_str(),
            a.phone_number_id.as_ref().map(|p| p.as_str()),
        )
            .cmp(&(
                b.waba_id.as_str(),
                b.phone_number_id.as_ref().map(|p| p.as_str()),
            ))
    });
    Ok(candidates)
}

/// The sandbox dialog's code names what the customer "shared": `sandbox.` and
/// comma-separated `waba:phone` pairs (`waba:` for a WABA without a number). Sandbox mode
/// only, where no Graph API is asked.
pub fn sandbox_candidates(code: &str) -> Vec<Candidate> {
    let Some(list) = code.strip_prefix(SANDBOX_CODE_PREFIX) else {
        return Vec::new();
    };
    list.split(',')
        .filter_map(|pair| {
            let (waba, phone) = pair.split_once(':').unwrap_or((pair, ""));
            let waba_id = WabaId::parse(waba).ok()?;
            let phone_number_id = match phone {
                "" => None,
                p => Some(PhoneNumberId::parse(p).ok()?),
            };
            Some(Candidate {
                waba_id,
                phone_number_id,
                business_id: None,
                display_phone_number: None,
                verified_name: None,
                is_on_biz_app: None,
            })
        })
        .take(MAX_WABAS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_codes_name_their_candidates_and_nothing_else() {
        let c = sandbox_candidates("sandbox.104996122399160:106540352242922,104996122399161:");
        assert_eq!(c.len(), 2);
        assert_eq!(
            c[0].phone_number_id.as_ref().unwrap().as_str(),
            "106540352242922"
        );
        assert_eq!(c[1].phone_number_id, None);
        assert!(sandbox_candidates("104996122399160:1").is_empty());
        assert!(sandbox_candidates("sandbox.abc:1").is_empty());
    }

    #[test]
    fn the_flow_points_at_meta_or_the_sandbox() {
        let key = StateKey::random().unwrap();
        let url = Url::parse("https://signup.example.com").unwrap();
        let live = RedirectFlow::new(key.clone(), &url, "v26.0", false);
        assert_eq!(
            live.dialog_url,
            "https://www.facebook.com/v26.0/dialog/oauth"
        );
        assert_eq!(
            live.redirect_uri,
            "https://signup.example.com/oauth/callback"
        );
        assert_eq!(live.landing, "https://signup.example.com/");
        let sandbox = RedirectFlow::new(key, &url, "v26.0", true);
        assert_eq!(
            sandbox.dialog_url,
            "https://signup.example.com/sandbox/dialog/oauth"
        );
    }

    #[test]
    fn the_customer_lands_on_the_sessions_return_url_only_on_an_allowed_origin() {
        let key = StateKey::random().unwrap();
        let url = Url::parse("https://signup.example.com/kit").unwrap();
        let flow = RedirectFlow::new(key, &url, "v26.0", false);
        let allowed = ["https://shop.example".to_owned()];
        // No return address: the standalone page.
        assert_eq!(
            flow.landing_for(None, &allowed, "h1"),
            "https://signup.example.com/kit/#wa-signup-result=h1"
        );
        // The partner's page, its query kept and its own fragment replaced.
        assert_eq!(
            flow.landing_for(
                Some("https://shop.example/whatsapp?step=2#top"),
                &allowed,
                "h1"
            ),
            "https://shop.example/whatsapp?step=2#wa-signup-result=h1"
        );
        // An origin no longer allowed, or no URL at all: never there.
        for gone in [
            "https://other.example/back",
            "javascript:alert(1)",
            "not a url",
        ] {
            assert_eq!(
                flow.landing_for(Some(gone), &allowed, "h1"),
                "https://signup.example.com/kit/#wa-signup-result=h1",
                "{gone}"
            );
        }
    }
}
