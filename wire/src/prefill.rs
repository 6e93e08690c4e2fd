//! A session's `prefill`: what the partner already knows about the customer's business, handed
//! to Meta's Embedded Signup in `extras.setup` so its screens open filled in (Meta's
//! "Pre-filling screens" page).
//!
//! The shape is Meta's own, field for field (`business {name, email, phone {code, number},
//! website, address {streetAddress1, city, state, zipPostal, country}, timezone}`, `phone
//! {displayName, category, description}`), so the widget sends it unchanged next to
//! `solutionID`. The proxy validates it when the partner creates the session: a value Meta
//! would refuse inside the popup is refused here instead, with the field's path.

use serde::{Deserialize, Serialize};

use crate::CountryCode;

/// Longest business name, city, state, street or postal code, in characters.
pub const MAX_PREFILL_TEXT_CHARS: usize = 128;
/// Longest phone description, in characters (the WhatsApp profile's limit).
pub const MAX_PREFILL_DESCRIPTION_CHARS: usize = 512;
/// Longest email address (RFC 5321's path limit).
const MAX_EMAIL_CHARS: usize = 254;
/// Longest website URL.
const MAX_WEBSITE_CHARS: usize = 512;
/// Longest timezone or category name.
const MAX_NAME_CHARS: usize = 64;

/// Validated pre-filled data: only exists once every field passed its rule, and serializes to
/// exactly the object Meta reads in `extras.setup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = PrefillFields))]
#[serde(try_from = "PrefillFields", into = "PrefillFields")]
pub struct Prefill(PrefillFields);

impl Prefill {
    /// Checks every field.
    ///
    /// # Errors
    /// A sentence naming the first field that breaks its rule, e.g.
    /// `prefill.business.email must be an email address`.
    pub fn parse(fields: PrefillFields) -> Result<Self, String> {
        fields.check()?;
        Ok(Self(fields))
    }

    /// The fields.
    pub fn fields(&self) -> &PrefillFields {
        &self.0
    }
}

impl TryFrom<PrefillFields> for Prefill {
    type Error = String;
    fn try_from(fields: PrefillFields) -> Result<Self, String> {
        Self::parse(fields)
    }
}

impl From<Prefill> for PrefillFields {
    fn from(p: Prefill) -> PrefillFields {
        p.0
    }
}

/// Meta's pre-filled data, as sent (unchecked; see [`Prefill`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PrefillFields {
    /// The business portfolio screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business: Option<PrefillBusiness>,
    /// The phone number's WhatsApp profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PrefillPhone>,
}

/// `setup.business`: the business portfolio.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PrefillBusiness {
    /// The business's name (1–128 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Its phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PrefillBusinessPhone>,
    /// Its website: an `http` or `https` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Its address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<PrefillAddress>,
    /// Its timezone in Meta's spelling, e.g. `UTC-08:00`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// `setup.business.phone`: a country calling code and the national number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PrefillBusinessPhone {
    /// The country calling code, 1–999 (`1`, `44`, `852`).
    pub code: u16,
    /// The national number: 4–15 digits.
    pub number: String,
}

/// `setup.business.address`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PrefillAddress {
    /// Street and number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address1: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_postal: Option<String>,
    /// ISO 3166-1 alpha-2 country code (`US`, `DE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "US"))]
    pub country: Option<CountryCode>,
}

/// `setup.phone`: the number's WhatsApp profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PrefillPhone {
    /// The display name customers see (1–128 characters; Meta still reviews it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Meta's business category code, e.g. `ENTERTAIN`, `RETAIL` (upper-case letters and `_`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The profile's description (at most 512 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Printable text of 1–`max` characters with something besides spaces in it.
fn text(path: &str, value: Option<&String>, max: usize) -> Result<(), String> {
    let Some(v) = value else { return Ok(()) };
    if v.trim().is_empty() {
        return Err(format!("{path} must not be empty"));
    }
    if v.chars().count() > max {
        return Err(format!("{path} must be at most {max} characters"));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("{path} must not hold control characters"));
    }
    Ok(())
}

/// One `@` between a local part and a domain with a dot, no spaces: enough to catch a
/// field mix-up; Meta's form checks the rest.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= MAX_EMAIL_CHARS
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn is_website(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && host.contains('.')
    }) && s.chars().count() <= MAX_WEBSITE_CHARS
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl PrefillFields {
    fn check(&self) -> Result<(), String> {
        if let Some(b) = &self.business {
            text(
                "prefill.business.name",
                b.name.as_ref(),
                MAX_PREFILL_TEXT_CHARS,
            )?;
            if b.email.as_deref().is_some_and(|e| !is_email(e)) {
                return Err("prefill.business.email must be an email address".to_owned());
            }
            if let Some(p) = &b.phone {
                if !(1..=999).contains(&p.code) {
                    return Err(
                        "prefill.business.phone.code must be a country calling code, 1–999"
                            .to_owned(),
                    );
                }
                let digits = p.number.len();
                if !(4..=15).contains(&digits) || !p.number.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(
                        "prefill.business.phone.number must be the national number, 4–15 digits"
                            .to_owned(),
                    );
                }
            }
            if b.website.as_deref().is_some_and(|w| !is_website(w)) {
                return Err(format!(
                    "prefill.business.website must be an http or https URL of at most \
                     {MAX_WEBSITE_CHARS} characters"
                ));
            }
            if let Some(a) = &b.address {
                for (field, value) in [
                    ("streetAddress1", &a.street_address1),
                    ("city", &a.city),
                    ("state", &a.state),
                    ("zipPostal", &a.zip_postal),
                ] {
                    text(
                        &format!("prefill.business.address.{field}"),
                        value.as_ref(),
                        MAX_PREFILL_TEXT_CHARS,
                    )?;
                }
            }
            if let Some(tz) = &b.timezone {
                if tz.is_empty()
                    || tz.len() > MAX_NAME_CHARS
                    || !tz.bytes().all(|c| c.is_ascii_graphic())
                {
                    return Err(
                        "prefill.business.timezone must be a timezone such as UTC-08:00".to_owned(),
                    );
                }
            }
        }
        if let Some(p) = &self.phone {
            text(
                "prefill.phone.displayName",
                p.display_name.as_ref(),
                MAX_PREFILL_TEXT_CHARS,
            )?;
            if let Some(c) = &p.category {
                if c.is_empty()
                    || c.len() > MAX_NAME_CHARS
                    || !c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
                {
                    return Err(
                        "prefill.phone.category must be one of Meta's category codes, such as \
                         RETAIL"
                            .to_owned(),
                    );
                }
            }
            text(
                "prefill.phone.description",
                p.description.as_ref(),
                MAX_PREFILL_DESCRIPTION_CHARS,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parse(v: Value) -> Result<Prefill, String> {
        serde_json::from_value::<Prefill>(v).map_err(|e| e.to_string())
    }

    #[test]
    fn metas_shape_is_read_and_written_back_unchanged() {
        let full = json!({
            "business": {
                "name": "Acme Inc.",
                "email": "owner@acme.example",
                "phone": {"code": 1, "number": "6505551234"},
                "website": "https://www.acme.example",
                "address": {"streetAddress1": "1 Acme Way", "city": "Acme Town",
                            "state": "CA", "zipPostal": "94000", "country": "US"},
                "timezone": "UTC-08:00"
            },
            "phone": {"displayName": "Acme", "category": "ENTERTAIN",
                      "description": "Acme makes everything."}
        });
        let p = parse(full.clone()).unwrap();
        assert_eq!(serde_json::to_value(&p).unwrap(), full);
        assert_eq!(
            p.fields().phone.as_ref().unwrap().display_name.as_deref(),
            Some("Acme")
        );
        assert_eq!(
            serde_json::to_value(parse(json!({})).unwrap()).unwrap(),
            json!({})
        );
    }

    #[test]
    fn each_rule_names_its_field() {
        let cases = [
            (json!({"business": {"name": " "}}), "prefill.business.name"),
            (
                json!({"business": {"name": "x".repeat(129)}}),
                "prefill.business.name",
            ),
            (
                json!({"business": {"email": "not-an-email"}}),
                "prefill.business.email",
            ),
            (
                json!({"business": {"email": "a b@c.d"}}),
                "prefill.business.email",
            ),
            (
                json!({"business": {"phone": {"code": 0, "number": "6505551234"}}}),
                "prefill.business.phone.code",
            ),
            (
                json!({"business": {"phone": {"code": 1, "number": "650-555"}}}),
                "prefill.business.phone.number",
            ),
            (
                json!({"business": {"website": "javascript:alert(1)"}}),
                "prefill.business.website",
            ),
            (
                json!({"business": {"address": {"city": "a\u{0}b"}}}),
                "prefill.business.address.city",
            ),
            (json!({"business": {"address": {"country": "usa"}}}), ""),
            (
                json!({"business": {"timezone": "UTC -8"}}),
                "prefill.business.timezone",
            ),
            (
                json!({"phone": {"displayName": ""}}),
                "prefill.phone.displayName",
            ),
            (
                json!({"phone": {"category": "retail"}}),
                "prefill.phone.category",
            ),
            (
                json!({"phone": {"description": "x".repeat(513)}}),
                "prefill.phone.description",
            ),
            (json!({"business": {"nmae": "typo"}}), "unknown field"),
            (json!({"solutionID": "1"}), "unknown field"),
        ];
        for (body, names) in cases {
            let err = parse(body.clone()).expect_err(&body.to_string());
            assert!(err.contains(names), "{body}: {err}");
        }
    }
}
