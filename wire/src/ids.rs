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
    /// The value was shorter than allowed (the length needed is given).
    TooShort(usize),
    /// The value held a character it may not hold.
    BadCharacter,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::Empty => f.write_str("must not be empty"),
            IdError::TooLong(max) => write!(f, "must be at most {max} characters"),
            IdError::TooShort(min) => write!(f, "must be {min} characters"),
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

/// Unicode's format characters (general category `Cf`, as of Unicode 15.1): invisible, and some
/// reorder the text around them (the bidi overrides U+202A–U+202E and isolates U+2066–U+2069),
/// so a reference holding one could show as something it is not in a dashboard or a log.
fn is_format_char(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{600}'..='\u{605}'
            | '\u{61C}'
            | '\u{6DD}'
            | '\u{70F}'
            | '\u{890}'..='\u{891}'
            | '\u{8E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

macro_rules! validated_string {
    ($(#[$doc:meta])* $name:ident, $max:expr, $allowed:expr) => {
        validated_string!(@type $(#[$doc])* $name, $max, $allowed);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }
    };
    // A secret: `Debug` (logs, panics, `{:?}` of a request) never shows the text.
    ($(#[$doc:meta])* secret $name:ident, $max:expr, $allowed:expr) => {
        validated_string!(@type $(#[$doc])* $name, $max, $allowed);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
    (@type $(#[$doc:meta])* $name:ident, $max:expr, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// The partner's own reference for a customer: 1–128 characters, no control characters and
    /// no format characters (bidi overrides, zero-width characters...).
    CustomerRef, MAX_CUSTOMER_REF_CHARS, |c: char| !c.is_control() && !is_format_char(c)
);
validated_string!(
    /// The customer's name as the partner knows it, shown on the page before the buttons
    /// ("Connecting WhatsApp to {partner} for {customer_name}"): 1–128 characters, no control
    /// or format characters.
    CustomerName, MAX_CUSTOMER_REF_CHARS, |c: char| !c.is_control() && !is_format_char(c)
);
validated_string!(
    /// An `FB.login` authorization code: 1–2048 URL-safe printable ASCII characters. It is
    /// exchanged for a token, so its `Debug` is redacted.
    secret AuthCode, MAX_CODE_CHARS, |c: char| c.is_ascii_graphic()
);
validated_string!(
    /// A session-info event name such as `FINISH_ONLY_WABA`: upper-case letters, digits, `_`.
    EventName, MAX_EVENT_CHARS, |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
);
validated_string!(
    /// A step of Meta's popup where a customer stopped, e.g. `PHONE_NUMBER_VERIFICATION`
    /// (kept as text: Meta adds steps): upper-case letters, digits, `_`, at most 64.
    FlowStep, 64, |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
);
validated_string!(
    /// One of Meta's Embedded Signup flow error codes, e.g. `2655093`: 1–16 digits.
    FlowErrorCode, 16, |c: char| c.is_ascii_digit()
);
validated_string!(
    /// Meta's `session_id` of a popup run, which Meta support asks for: 1–64 characters of
    /// `A–Z a–z 0–9 _ - .`.
    MetaSessionId, 64, |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
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
    fn customer_ref_refuses_invisible_and_reordering_characters() {
        let refused = [
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}', // bidi embeddings, overrides
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}', // bidi isolates
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}', // zero-width, marks
            '\u{FEFF}',
            '\u{AD}',
            '\u{2060}',
            '\u{61C}',
            '\u{E0041}', // other Cf
        ];
        for c in refused {
            assert_eq!(
                CustomerRef::parse(format!("cust{c}42")).unwrap_err(),
                IdError::BadCharacter,
                "U+{:04X}",
                c as u32
            );
        }
        // Letters of any script, emoji and ordinary punctuation stay allowed.
        for ok in [
            "客户-42",
            "Nguyễn Văn A",
            "שלום",
            "مرحبا",
            "a👍b",
            "a/b:c#1",
        ] {
            assert!(CustomerRef::parse(ok).is_ok(), "{ok}");
        }
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
    fn auth_code_debug_never_shows_the_code() {
        let code = AuthCode::parse("AQBsecret-code_123").unwrap();
        let shown = format!("{code:?} {:?} {:#?}", Some(&code), vec![code.clone()]);
        assert!(!shown.contains("AQBsecret"), "{shown}");
        assert_eq!(format!("{code:?}"), "AuthCode([redacted])");
        // The text itself is still there for the exchange; other types still show theirs.
        assert_eq!(code.as_str(), "AQBsecret-code_123");
        assert_eq!(
            format!("{:?}", WabaId::parse("42").unwrap()),
            "WabaId(\"42\")"
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
