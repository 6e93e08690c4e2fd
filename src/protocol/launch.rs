//! The options object passed to `FB.login` in each mode (DOMAIN.md "The browser side" §2).
//!
//! The two shapes differ in more than a flag (standard sends `features` and the string
//! `'3'`, coexistence sends `featureType` and the number `3`, exactly as in YCloud's
//! samples), so each mode has its own `extras` type and the serializer cannot mix them up.

use std::fmt;

use serde::Serialize;
use wire::Mode;

/// Longest configuration or solution id accepted (Meta's are 15–20 characters).
const MAX_SETTING_CHARS: usize = 128;

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

/// Mode-specific `extras`, serialized without a tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
enum Extras {
    Standard(StandardExtras),
    Coexistence(CoexistenceExtras),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct StandardExtras {
    features: [Feature; 1],
    setup: Setup,
    /// A string here: YCloud's standard sample sends `'3'`.
    session_info_version: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct CoexistenceExtras {
    setup: Setup,
    /// A number here: YCloud's coexistence sample sends `3`.
    session_info_version: u8,
    feature_type: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Feature {
    name: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Setup {
    #[serde(rename = "solutionID")]
    solution_id: String,
}

/// Why launch options could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchError {
    /// The configuration id is empty, too long or holds spaces or control characters.
    BadConfigId,
    /// The solution id is empty, too long or holds spaces or control characters.
    BadSolutionId,
}

impl fmt::Display for LaunchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LaunchError::BadConfigId => {
                "the Embedded Signup configuration id is missing or malformed"
            }
            LaunchError::BadSolutionId => "the YCloud solution id is missing or malformed",
        })
    }
}

impl std::error::Error for LaunchError {}

impl LaunchOptions {
    /// Builds the options for `mode` from the public configuration's ids.
    ///
    /// # Errors
    /// [`LaunchError`] when an id is empty, longer than 128 characters, or holds
    /// whitespace or control characters: `FB.login` would open a popup that fails later
    /// with a far vaguer message.
    pub fn new(mode: Mode, config_id: &str, solution_id: &str) -> Result<Self, LaunchError> {
        if !is_setting(config_id) {
            return Err(LaunchError::BadConfigId);
        }
        if !is_setting(solution_id) {
            return Err(LaunchError::BadSolutionId);
        }
        let setup = Setup {
            solution_id: solution_id.to_owned(),
        };
        let extras = match mode {
            Mode::Standard => Extras::Standard(StandardExtras {
                features: [Feature {
                    name: "marketing_messages_lite",
                }],
                setup,
                session_info_version: "3",
            }),
            Mode::Coexistence => Extras::Coexistence(CoexistenceExtras {
                setup,
                session_info_version: 3,
                feature_type: "whatsapp_business_app_onboarding",
            }),
        };
        Ok(Self {
            config_id: config_id.to_owned(),
            response_type: "code",
            override_default_response_type: true,
            extras,
        })
    }

    /// The mode these options launch.
    pub fn mode(&self) -> Mode {
        match self.extras {
            Extras::Standard(_) => Mode::Standard,
            Extras::Coexistence(_) => Mode::Coexistence,
        }
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
    use serde_json::json;

    #[test]
    fn standard_options_match_the_seed() {
        let options = LaunchOptions::new(Mode::Standard, "1234567890", "987654321").unwrap();
        // YCloud's standard sample, with the placeholders filled in.
        let seed = json!({
            "config_id": "1234567890",
            "response_type": "code",
            "override_default_response_type": true,
            "extras": {
                "features": [{"name": "marketing_messages_lite"}],
                "setup": {"solutionID": "987654321"},
                "sessionInfoVersion": "3",
            },
        });
        assert_eq!(serde_json::to_value(&options).unwrap(), seed);
        assert_eq!(options.mode(), Mode::Standard);
    }

    #[test]
    fn coexistence_options_match_the_seed() {
        let options = LaunchOptions::new(Mode::Coexistence, "1234567890", "987654321").unwrap();
        // YCloud's coexistence sample: number 3, featureType, no features.
        let seed = json!({
            "config_id": "1234567890",
            "response_type": "code",
            "override_default_response_type": true,
            "extras": {
                "setup": {"solutionID": "987654321"},
                "sessionInfoVersion": 3,
                "featureType": "whatsapp_business_app_onboarding",
            },
        });
        assert_eq!(serde_json::to_value(&options).unwrap(), seed);
        assert_eq!(options.mode(), Mode::Coexistence);
    }

    #[test]
    fn missing_or_malformed_ids_are_refused() {
        let long = "1".repeat(MAX_SETTING_CHARS + 1);
        for (config, solution, want) in [
            ("", "1", LaunchError::BadConfigId),
            (" 1", "1", LaunchError::BadConfigId),
            ("{YOUR-CONFIGURATION-ID} ", "1", LaunchError::BadConfigId),
            (long.as_str(), "1", LaunchError::BadConfigId),
            ("1", "", LaunchError::BadSolutionId),
            ("1", "a\nb", LaunchError::BadSolutionId),
            ("1", long.as_str(), LaunchError::BadSolutionId),
        ] {
            for mode in Mode::ALL {
                assert_eq!(
                    LaunchOptions::new(mode, config, solution).unwrap_err(),
                    want
                );
            }
        }
    }
}
