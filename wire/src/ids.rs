//! Validated newtypes: a private field and a fallible constructor each.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{MAX_CUSTOMER_REF_CHARS, MAX_ID_DIGITS};

/// Longest `FB.login` code accepted (Meta's are a few hundred characters).
pub const MAX_CODE_CHARS: usize = 2048;
/// Longest session-info event name accepted.
pub const MAX_EVENT_CHARS: usize = 64;

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdError {
    /// The value was empty.
    Empty,
    /// The value was longer than allowed (the limit is given).
    TooLong(usize),
    /// The value held a character it may not hold.
    BadCharacter,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::Empty => f.write_str("must not be empty"),
            IdError::TooLong(max) => write!(f, "must be at most {max} characters"),
            IdError::BadCharacter => f.write_str("holds a character that is not allowed"),
        }
    }
}

impl std::error::Error for IdError {}

fn check(s: &str, max: usize, allowed: impl Fn(char) -> bool) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty);
    }
    if s.chars().count() > max {
        return Err(IdError::TooLong(max));
    }
    if !s.chars().all(allowed) {
        return Err(IdError::BadCharacter);
    }
    Ok(())
}

macro_rules! validated_string {
    ($(#[$doc:meta])* $name:ident, $max:expr, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps the value.
            ///
            /// # Errors
            /// [`IdError`] when the value is empty, too long or holds a refused character.
            pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                check(&s, $max, $allowed)?;
                Ok(Self(s))
            }

            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

validated_string!(
    /// A WhatsApp Business Account id: 1–32 ASCII digits.
    WabaId, MAX_ID_DIGITS, |c: char| c.is_ascii_digit()
);
validated_string!(
    /// A phone number id (Meta's, not the E.164 number): 1–32 ASCII digits.
    PhoneNumberId, MAX_ID_DIGITS, |c: char| c.is_ascii_digit()
);
validated_string!(
    /// A Meta business portfolio id: 1–32 ASCII digits.
    BusinessId, MAX_ID_DIGITS, |c: char| c.is_ascii_digit()
);
validated_string!(
    /// The partner's own reference for a customer: 1–128 characters, no control characters.
    CustomerRef, MAX_CUSTOMER_REF_CHARS, |c: char| !c.is_control()
);
validated_string!(
    /// An `FB.login` authorization code: 1–2048 URL-safe printable ASCII characters.
    AuthCode, MAX_CODE_CHARS, |c: char| c.is_ascii_graphic()
);
validated_string!(
    /// A session-info event name such as `FINISH_ONLY_WABA`: upper-case letters, digits, `_`.
    EventName, MAX_EVENT_CHARS, |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_digits_up_to_the_limit() {
        assert_eq!(WabaId::parse("0").unwrap().as_str(), "0");
        let max = "9".repeat(MAX_ID_DIGITS);
        assert_eq!(PhoneNumberId::parse(max.clone()).unwrap().as_str(), max);
    }

    #[test]
    fn ids_refuse_each_rule() {
        let cases: &[(&str, IdError)] = &[
            ("", IdError::Empty),
            (
                &"1".repeat(MAX_ID_DIGITS + 1),
                IdError::TooLong(MAX_ID_DIGITS),
            ),
            ("12a", IdError::BadCharacter),
            (" 12", IdError::BadCharacter),
            ("-12", IdError::BadCharacter),
            ("1.5", IdError::BadCharacter),
            ("١٢٣", IdError::BadCharacter), // Arabic-Indic digits are digits, not ASCII ones
            ("１２", IdError::BadCharacter), // full-width digits
        ];
        for (input, want) in cases {
            assert_eq!(WabaId::parse(*input).unwrap_err(), *want, "{input:?}");
            assert_eq!(BusinessId::parse(*input).unwrap_err(), *want, "{input:?}");
        }
    }

    #[test]
    fn customer_ref_counts_characters_not_bytes() {
        assert!(CustomerRef::parse("客".repeat(MAX_CUSTOMER_REF_CHARS)).is_ok());
        assert_eq!(
            CustomerRef::parse("客".repeat(MAX_CUSTOMER_REF_CHARS + 1)).unwrap_err(),
            IdError::TooLong(MAX_CUSTOMER_REF_CHARS)
        );
        assert_eq!(
            CustomerRef::parse("a\nb").unwrap_err(),
            IdError::BadCharacter
        );
    }

    #[test]
    fn code_and_event_name_rules() {
        assert!(AuthCode::parse("AQBx_-.~9").is_ok());
        assert_eq!(AuthCode::parse("a b").unwrap_err(), IdError::BadCharacter);
        assert!(EventName::parse("FINISH_ONLY_WABA").is_ok());
        assert_eq!(
            EventName::parse("finish").unwrap_err(),
            IdError::BadCharacter
        );
    }

    #[test]
    fn serde_goes_through_the_constructor() {
        let id: WabaId = serde_json::from_str("\"42\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"42\"");
        let err = serde_json::from_str::<WabaId>("\"4x\"").unwrap_err();
        assert!(err.to_string().contains("not allowed"), "{err}");
    }
}
