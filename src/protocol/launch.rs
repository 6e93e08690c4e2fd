//! The options object passed to `FB.login`, per mode, for Embedded Signup v4 and
//! v4-public-preview (Meta retired v2, v3 and their previews on 15 October 2026).
//!
//! The shape is the one Meta's Embedded Signup builder generates: `setup`,
//! `sessionInfoVersion: "3"` and `version`, plus `featureType` in coexistence. v4 takes the
//! products (Marketing Messages, Click to WhatsApp Ads, Conversions API) from the login
//! configuration in Meta's App Dashboard, so it sends no `features`.

use std::fmt;

use serde::Serialize;
use wire::{EsVersion, Mode, Prefill, PrefillFields, ReauthorizeTarget};

/// Longest configuration or solution id accepted (Meta's are 15–20 characters).
const MAX_SETTING_CHARS: usize = 128;

/// `extras.featureType` that selects the WhatsApp Business App (coexistence) flow.
const COEXISTENCE_FEATURE_TYPE: &str = "whatsapp_business_app_onboarding";

/// The second argument of `FB.login`, ready to serialize to a JS object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaunchOptions {
    config_id: String,
    /// Always `code`: the backend exchanges it for a token.
    response_type: &'static str,
    /// Makes `response_type` win over the configuration's default.
    override_default_response_type: bool,
    extras: Extras,
}

/// `extras`: the version is named; coexistence adds its feature type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Extras {
    setup: Setup,
    session_info_version: &'static str,
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    feature_type: Option<&'static str>,
}

/// `extras.setup`: YCloud's solution id for a partner solution (none for a Tech Provider
/// onboarding through its own app), next to the session's pre-filled data (`business`,
/// `phone`), which Meta reads from the same object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Setup {
    #[serde(rename = "solutionID", skip_serializing_if = "Option::is_none")]
    solution_id: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    prefill: Option<PrefillFields>,
    /// A reauthorizing session's WABA: Embedded Signup opens on it (Meta's pre-filled
    /// `whatsAppBusinessAccount.ids`).
    #[serde(
        rename = "whatsAppBusinessAccount",
        skip_serializing_if = "Option::is_none"
    )]
    business_account: Option<Ids>,
}

/// Meta's `{ids: [...]}` of pre-filled assets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Ids {
    ids: Vec<String>,
}

/// Why launch options could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchError {
    /// The configuration id is empty, too long or holds spaces or control characters.
    BadConfigId,
    /// The solution id is too long or holds spaces or control characters.
    BadSolutionId,
}

impl fmt::Display for LaunchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LaunchError::BadConfigId => {
                "the Embedded Signup configuration id is missing or malformed"
            }
            LaunchError::BadSolutionId => "the YCloud solution id is malformed",
        })
    }
}

impl std::error::Error for LaunchError {}

impl LaunchOptions {
    /// Builds the options for `mode` and `version` from the public configuration's ids.
    ///
    /// # Errors
    /// [`LaunchError`] when an id is empty, longer than 128 characters, or holds
    /// whitespace or control characters: `FB.login` would open a popup that fails later
    /// with a far vaguer message.
    pub fn new(
        mode: Mode,
        version: EsVersion,
        config_id: &str,
        solution_id: &str,
    ) -> Result<Self, LaunchError> {
        if !is_setting(config_id) {
            return Err(LaunchError::BadConfigId);
        }
        // No solution id: a Tech Provider's own app (WHATSAPP_PROVIDER=meta), `setup: {}`.
        if !solution_id.is_empty() && !is_setting(solution_id) {
            return Err(LaunchError::BadSolutionId);
        }
        let setup = Setup {
            solution_id: (!solution_id.is_empty()).then(|| solution_id.to_owned()),
            prefill: None,
            business_account: None,
        };
        let extras = Extras {
            setup,
            session_info_version: "3",
            version: version.as_str(),
            feature_type: (mode == Mode::Coexistence).then_some(COEXISTENCE_FEATURE_TYPE),
        };
        Ok(Self {
            config_id: config_id.to_owned(),
            response_type: "code",
            override_default_response_type: true,
            extras,
        })
    }

    /// The `extras` of this launch: the full-page dialog sends the same object, as JSON text
    /// in its `extras` parameter (written by the caller: the bundle has no JSON formatter).
    pub fn extras(&self) -> &impl Serialize {
        &self.extras
    }

    /// The query of Meta's full-page login dialog for this very launch, but `extras`: the
    /// same configuration and response type as `FB.login`, with the proxy's `redirect_uri`
    /// and `state`. Values are raw: the browser encodes them (`URLSearchParams`).
    pub fn dialog_query(
        &self,
        app_id: &str,
        redirect_uri: &str,
        state: &str,
    ) -> Vec<(&'static str, String)> {
        vec![
            ("client_id", app_id.to_owned()),
            ("config_id", self.config_id.clone()),
            ("response_type", self.response_type.to_owned()),
            (
                "override_default_response_type",
                self.override_default_response_type.to_string(),
            ),
            ("redirect_uri", redirect_uri.to_owned()),
            ("state", state.to_owned()),
        ]
    }
}

impl LaunchOptions {
    /// The same options with the session's pre-filled data in `extras.setup` (already
    /// checked by the proxy when the partner created the session; a [`Prefill`] holds only
    /// valid values).
    #[must_use]
    pub fn with_prefill(mut self, prefill: Option<&Prefill>) -> Self {
        self.extras.setup.prefill = prefill.map(|p| p.fields().clone());
        self
    }

    /// The same options renewing the access to a session's onboarding: Embedded Signup opens
    /// on its WABA (the proxy accepts the sign-in only for that WABA and number).
    #[must_use]
    pub fn with_reauthorize(mut self, target: Option<&ReauthorizeTarget>) -> Self {
        self.extras.setup.business_account = target.map(|t| Ids {
            ids: vec![t.waba_id.as_str().to_owned()],
        });
        self
    }
}

fn is_setting(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= MAX_SETTING_CHARS
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn options(mode: Mode, version: EsVersion) -> Value {
        serde_json::to_value(LaunchOptions::new(mode, version, "1234567890", "987654321").unwrap())
            .unwrap()
    }

    /// The object `FB.login` must receive, around the given `extras`.
    fn with_extras(extras: Value) -> Value {
        json!({
            "config_id": "1234567890",
            "response_type": "code",
            "override_default_response_type": true,
            "extras": extras,
        })
    }

    #[test]
    fn the_full_page_dialog_asks_for_the_same_launch() {
        let launch =
            LaunchOptions::new(Mode::Coexistence, EsVersion::V4, "1234567890", "987654321")
                .unwrap();
        let query = launch.dialog_query("111", "https://p.example/oauth/callback", "v1.a.b");
        let get = |k: &str| query.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("client_id"), Some("111"));
        assert_eq!(get("config_id"), Some("1234567890"));
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("override_default_response_type"), Some("true"));
        assert_eq!(
            get("redirect_uri"),
            Some("https://p.example/oauth/callback")
        );
        assert_eq!(get("state"), Some("v1.a.b"));
        // The popup's very extras.
        let popup = serde_json::to_value(&launch).unwrap();
        assert_eq!(
            serde_json::to_value(launch.extras()).unwrap(),
            popup["extras"]
        );
    }

    #[test]
    fn v4_sends_the_version_and_no_features() {
        assert_eq!(
            options(Mode::Standard, EsVersion::V4),
            with_extras(json!({
                "setup": {"solutionID": "987654321"},
                "sessionInfoVersion": "3",
                "version": "v4",
            }))
        );
        assert_eq!(
            options(Mode::Coexistence, EsVersion::V4),
            with_extras(json!({
                "setup": {"solutionID": "987654321"},
                "sessionInfoVersion": "3",
                "version": "v4",
                "featureType": "whatsapp_business_app_onboarding",
            }))
        );
    }

    #[test]
    fn v4_public_preview_is_v4_under_its_own_name() {
        assert_eq!(
            options(Mode::Standard, EsVersion::V4PublicPreview),
            with_extras(json!({
                "setup": {"solutionID": "987654321"},
                "sessionInfoVersion": "3",
                "version": "v4-public-preview",
            }))
        );
        assert_eq!(
            options(Mode::Coexistence, EsVersion::V4PublicPreview),
            with_extras(json!({
                "setup": {"solutionID": "987654321"},
                "sessionInfoVersion": "3",
                "version": "v4-public-preview",
                "featureType": "whatsapp_business_app_onboarding",
            }))
        );
    }

    #[test]
    fn without_a_solution_id_setup_is_empty() {
        // A Tech Provider's own app (WHATSAPP_PROVIDER=meta) has no YCloud solution.
        for mode in Mode::ALL {
            for version in EsVersion::ALL {
                let o = LaunchOptions::new(mode, version, "123", "").unwrap();
                let v = serde_json::to_value(&o).unwrap();
                assert_eq!(v["extras"]["setup"], json!({}), "{mode} {version}");
                assert_eq!(v["config_id"], "123");
            }
        }
    }

    #[test]
    fn a_reauthorizing_session_opens_on_its_waba() {
        let target: ReauthorizeTarget = serde_json::from_value(json!({
            "onboarding_id": "0b7c2f0e-3c1d-4d55-8a6e-2f2b1f4b9c11",
            "waba_id": "104996122399160", "phone_number_id": "106540352242922"}))
        .unwrap();
        let prefill: Prefill =
            serde_json::from_value(json!({"business": {"name": "Cake Shop"}})).unwrap();
        let launch = LaunchOptions::new(Mode::Standard, EsVersion::V4, "1234567890", "")
            .unwrap()
            .with_prefill(Some(&prefill))
            .with_reauthorize(Some(&target));
        assert_eq!(
            serde_json::to_value(&launch).unwrap()["extras"]["setup"],
            json!({"business": {"name": "Cake Shop"},
                   "whatsAppBusinessAccount": {"ids": ["104996122399160"]}})
        );
        // No target: exactly the options without.
        assert_eq!(
            serde_json::to_value(
                LaunchOptions::new(Mode::Standard, EsVersion::V4, "1234567890", "")
                    .unwrap()
                    .with_reauthorize(None)
            )
            .unwrap(),
            serde_json::to_value(
                LaunchOptions::new(Mode::Standard, EsVersion::V4, "1234567890", "").unwrap()
            )
            .unwrap()
        );
    }

    #[test]
    fn prefill_sits_in_setup_next_to_the_solution_id() {
        let prefill: Prefill = serde_json::from_value(json!({
            "business": {"name": "Acme Inc.", "phone": {"code": 1, "number": "6505551234"},
                         "address": {"country": "US"}, "timezone": "UTC-08:00"},
            "phone": {"displayName": "Acme", "category": "RETAIL"}
        }))
        .unwrap();
        for mode in Mode::ALL {
            let o = LaunchOptions::new(mode, EsVersion::V4, "1234567890", "987654321")
                .unwrap()
                .with_prefill(Some(&prefill));
            let v = serde_json::to_value(&o).unwrap();
            assert_eq!(
                v["extras"]["setup"],
                json!({
                    "solutionID": "987654321",
                    "business": {"name": "Acme Inc.", "phone": {"code": 1, "number": "6505551234"},
                                 "address": {"country": "US"}, "timezone": "UTC-08:00"},
                    "phone": {"displayName": "Acme", "category": "RETAIL"}
                }),
                "{mode}"
            );
            assert_eq!(v["extras"]["version"], "v4");
        }
        // Without a solution id (Meta directly) the pre-filled data is all of `setup`.
        let o = LaunchOptions::new(Mode::Standard, EsVersion::V4, "1", "")
            .unwrap()
            .with_prefill(Some(&prefill));
        let setup = &serde_json::to_value(&o).unwrap()["extras"]["setup"];
        assert!(setup.get("solutionID").is_none());
        assert_eq!(setup["phone"]["displayName"], "Acme");
        // No prefill: the options are exactly the ones without.
        assert_eq!(
            LaunchOptions::new(Mode::Standard, EsVersion::V4, "1234567890", "987654321")
                .unwrap()
                .with_prefill(None),
            LaunchOptions::new(Mode::Standard, EsVersion::V4, "1234567890", "987654321").unwrap()
        );
    }

    #[test]
    fn missing_or_malformed_ids_are_refused() {
        let long = "1".repeat(MAX_SETTING_CHARS + 1);
        for (config, solution, want) in [
            ("", "1", LaunchError::BadConfigId),
            (" 1", "1", LaunchError::BadConfigId),
            ("{YOUR-CONFIGURATION-ID} ", "1", LaunchError::BadConfigId),
            (long.as_str(), "1", LaunchError::BadConfigId),
            ("1", "a\nb", LaunchError::BadSolutionId),
            ("1", " ", LaunchError::BadSolutionId),
            ("1", long.as_str(), LaunchError::BadSolutionId),
        ] {
            for mode in Mode::ALL {
                for version in EsVersion::ALL {
                    assert_eq!(
                        LaunchOptions::new(mode, version, config, solution).unwrap_err(),
                        want
                    );
                }
            }
        }
    }
}
