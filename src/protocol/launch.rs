//! The options object passed to `FB.login`, per mode and Embedded Signup version.
//!
//! Each shape has its own type, so the serializer cannot mix them up:
//! - v2 (retired by Meta, kept for partners who still need it) is exactly YCloud's original
//!   samples: standard sends `features` and the string `'3'`, coexistence sends
//!   `featureType` and the number `3`, and neither has a `version` key.
//! - v3, v4 and v4-public-preview name the version in `extras.version` and send
//!   `sessionInfoVersion: "3"`; coexistence adds `featureType`. v4 takes the products
//!   (Marketing Messages, Click to WhatsApp Ads, Conversions API) from the login
//!   configuration in Meta's App Dashboard, so it sends no `features`; v3 still sends the
//!   standard sample's `marketing_messages_lite` feature.

use std::fmt;

use serde::Serialize;
use wire::{EsVersion, Mode};

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

/// Mode- and version-specific `extras`, serialized without a tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
enum Extras {
    V2Standard(V2StandardExtras),
    V2Coexistence(V2CoexistenceExtras),
    Versioned(VersionedExtras),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct V2StandardExtras {
    features: [Feature; 1],
    setup: Setup,
    /// A string here: YCloud's standard sample sends `'3'`.
    session_info_version: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct V2CoexistenceExtras {
    setup: Setup,
    /// A number here: YCloud's coexistence sample sends `3`.
    session_info_version: u8,
    feature_type: &'static str,
}

/// v3 and later: the version is named, and v4 leaves `features` to the login configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionedExtras {
    #[serde(skip_serializing_if = "Option::is_none")]
    features: Option<[Feature; 1]>,
    setup: Setup,
    session_info_version: &'static str,
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    feature_type: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Feature {
    name: &'static str,
}

/// The feature YCloud's standard sample asks for (Marketing Messages Lite).
const MARKETING_MESSAGES: Feature = Feature {
    name: "marketing_messages_lite",
};

/// `extras.setup`: YCloud's solution id for a partner solution; empty (`{}`) for a Tech
/// Provider onboarding through its own app, which has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Setup {
    #[serde(rename = "solutionID", skip_serializing_if = "Option::is_none")]
    solution_id: Option<String>,
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
        };
        let extras = match (version, mode) {
            (EsVersion::V2, Mode::Standard) => Extras::V2Standard(V2StandardExtras {
                features: [MARKETING_MESSAGES],
                setup,
                session_info_version: "3",
            }),
            (EsVersion::V2, Mode::Coexistence) => Extras::V2Coexistence(V2CoexistenceExtras {
                setup,
                session_info_version: 3,
                feature_type: COEXISTENCE_FEATURE_TYPE,
            }),
            (EsVersion::V3 | EsVersion::V4 | EsVersion::V4PublicPreview, _) => {
                Extras::Versioned(VersionedExtras {
                    // v4 takes its products from the login configuration instead.
                    features: (version == EsVersion::V3 && mode == Mode::Standard)
                        .then_some([MARKETING_MESSAGES]),
                    setup,
                    session_info_version: "3",
                    version: version.as_str(),
                    feature_type: (mode == Mode::Coexistence).then_some(COEXISTENCE_FEATURE_TYPE),
                })
            }
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
        let launch = LaunchOptions::new(Mode::Coexistence, EsVersion::V4, "1234567890", "987654321")
            .unwrap();
        let query = launch.dialog_query("111", "https://p.example/oauth/callback", "v1.a.b");
        let get = |k: &str| query.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("client_id"), Some("111"));
        assert_eq!(get("config_id"), Some("1234567890"));
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("override_default_response_type"), Some("true"));
        assert_eq!(get("redirect_uri"), Some("https://p.example/oauth/callback"));
        assert_eq!(get("state"), Some("v1.a.b"));
        // The popup's very extras.
        let popup = serde_json::to_value(&launch).unwrap();
        assert_eq!(serde_json::to_value(launch.extras()).unwrap(), popup["extras"]);
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
    fn v3_names_its_version_and_keeps_the_standard_feature() {
        assert_eq!(
            options(Mode::Standard, EsVersion::V3),
            with_extras(json!({
                "features": [{"name": "marketing_messages_lite"}],
                "setup": {"solutionID": "987654321"},
                "sessionInfoVersion": "3",
                "version": "v3",
            }))
        );
        assert_eq!(
            options(Mode::Coexistence, EsVersion::V3),
            with_extras(json!({
                "setup": {"solutionID": "987654321"},
                "sessionInfoVersion": "3",
                "version": "v3",
                "featureType": "whatsapp_business_app_onboarding",
            }))
        );
    }

    #[test]
    fn v2_standard_options_are_exactly_ycloud_s_sample() {
        // YCloud's standard sample, with the placeholders filled in: no version key.
        assert_eq!(
            options(Mode::Standard, EsVersion::V2),
            with_extras(json!({
                "features": [{"name": "marketing_messages_lite"}],
                "setup": {"solutionID": "987654321"},
                "sessionInfoVersion": "3",
            }))
        );
    }

    #[test]
    fn v2_coexistence_options_are_exactly_ycloud_s_sample() {
        // YCloud's coexistence sample: the number 3, featureType, no features, no version.
        assert_eq!(
            options(Mode::Coexistence, EsVersion::V2),
            with_extras(json!({
                "setup": {"solutionID": "987654321"},
                "sessionInfoVersion": 3,
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
