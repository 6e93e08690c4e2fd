//! Types of the direct Meta Cloud API provider (`WHATSAPP_PROVIDER=meta`): the number's
//! two-step verification PIN, Meta's local-storage regions, and the partner's view of the
//! stored credentials.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::IdError;

/// A WhatsApp two-step verification PIN: exactly six ASCII digits. Its `Debug` is redacted:
/// the PIN guards the number, and a wrong one sent to Meta counts towards its lock-out.
///
/// Any six digits are accepted here, since a customer's existing PIN may be `111111`; only
/// the PINs the proxy generates avoid trivial patterns.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9]{6}$"))]
pub struct Pin(String);

impl Pin {
    /// How many digits a PIN has.
    pub const DIGITS: usize = 6;

    /// Validates six ASCII digits.
    ///
    /// # Errors
    /// [`IdError`] when empty, of another length, or holding anything but `0`–`9`.
    pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::BadCharacter);
        }
        if s.len() > Self::DIGITS {
            return Err(IdError::TooLong(Self::DIGITS));
        }
        if s.len() < Self::DIGITS {
            return Err(IdError::TooShort(Self::DIGITS));
        }
        Ok(Self(s))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin([redacted])")
    }
}

impl TryFrom<String> for Pin {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl From<Pin> for String {
    fn from(p: Pin) -> String {
        p.0
    }
}

/// Body of `POST /api/onboardings/{id}/pin`: the customer's existing two-step verification
/// PIN, when Meta refused the one the proxy sent (`pin_required`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPin {
    /// Six digits.
    pub pin: Pin,
}

/// `GET /api/partner/onboardings/{id}/credentials`: what the proxy keeps (encrypted) for a
/// number registered directly with Meta. Shown only to the partner's backend.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The number's two-step verification PIN; none for a number never registered
    /// (coexistence).
    pub pin: Option<Pin>,
    /// The customer's business token from the code exchange (the Graph API's bearer token for
    /// this WABA); none when it could not be stored.
    pub business_token: Option<String>,
}

/// A Cloud API local-storage region (`data_localization_region`): the ISO 3166-1 alpha-2
/// codes Meta lists for local storage. Once a number is registered with one, changing it
/// takes a deregister and a new register; coexistence numbers cannot use it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "DE"))]
pub struct StorageRegion(String);

impl StorageRegion {
    /// Meta's regions: APAC (Australia, Indonesia, India, Japan, Singapore, South Korea),
    /// Europe (Germany for the EU, Switzerland, United Kingdom), LATAM (Brazil), MEA
    /// (Bahrain, South Africa, United Arab Emirates), North America (Canada).
    pub const ALL: [&'static str; 14] = [
        "AU", "ID", "IN", "JP", "SG", "KR", "DE", "CH", "GB", "BR", "BH", "ZA", "AE", "CA",
    ];

    /// One of [`StorageRegion::ALL`], in upper case.
    ///
    /// # Errors
    /// [`IdError::BadCharacter`] for anything else (an ISO code Meta has no storage in
    /// included).
    pub fn parse(s: impl AsRef<str>) -> Result<Self, IdError> {
        let s = s.as_ref();
        Self::ALL
            .iter()
            .find(|r| **r == s)
            .map(|r| Self((*r).to_owned()))
            .ok_or(IdError::BadCharacter)
    }

    /// The code, e.g. `DE`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StorageRegion {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).map_err(|_| {
            format!(
                "{s:?} is not a Cloud API local-storage region; Meta offers {}",
                Self::ALL.join(", ")
            )
        })
    }
}

impl From<StorageRegion> for String {
    fn from(r: StorageRegion) -> String {
        r.0
    }
}

impl fmt::Display for StorageRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_six_digits_and_never_shown_by_debug() {
        let pin = Pin::parse("042917").unwrap();
        assert_eq!(pin.as_str(), "042917");
        assert_eq!(format!("{pin:?}"), "Pin([redacted])");
        let body: SetPin = serde_json::from_str(r#"{"pin":"111111"}"#).unwrap();
        assert!(!format!("{body:?}").contains("111111"));
        let cases: &[(&str, IdError)] = &[
            ("", IdError::Empty),
            ("12345", IdError::TooShort(6)),
            ("1234567", IdError::TooLong(6)),
            ("12a456", IdError::BadCharacter),
            (" 12345", IdError::BadCharacter),
            ("١٢٣٤٥٦", IdError::BadCharacter),
        ];
        for (input, want) in cases {
            assert_eq!(Pin::parse(*input).unwrap_err(), *want, "{input:?}");
        }
        for body in [
            r#"{"pin":123456}"#,
            r#"{"pin":"12345"}"#,
            r#"{}"#,
            r#"{"pin":"123456","x":1}"#,
        ] {
            assert!(serde_json::from_str::<SetPin>(body).is_err(), "{body}");
        }
    }

    #[test]
    fn only_metas_storage_regions_are_accepted() {
        for r in StorageRegion::ALL {
            let region: StorageRegion = serde_json::from_str(&format!("\"{r}\"")).unwrap();
            assert_eq!(region.as_str(), r);
        }
        for bad in ["FR", "US", "de", "EU", "", "DEU"] {
            assert!(StorageRegion::parse(bad).is_err(), "{bad}");
            let err = serde_json::from_str::<StorageRegion>(&format!("\"{bad}\"")).unwrap_err();
            assert!(err.to_string().contains("local-storage region"), "{err}");
        }
    }
}
