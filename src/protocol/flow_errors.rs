//! Meta's Embedded Signup flow error codes (Meta's "Embedded Signup errors" page): what the
//! customer can do about each, by family. The error screen says the family's sentence and
//! shows Meta's own text only as plain text, with a support reference.

/// What a customer can do about a popup error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowErrorFamily {
    /// 3441045: the number is not eligible to keep the WhatsApp Business app.
    CoexNotEligible,
    /// 3441047: coexistence is unavailable for accounts on Marketing Messages.
    CoexMarketing,
    /// 4563015: the WhatsApp Business app is older than 2.24.17.
    AppTooOld,
    /// 2655093: the WABA is shared with another partner (disconnect it in the app).
    SharedWithPartner,
    /// 3441049, 2655094: disconnect, then wait 15 minutes.
    DisconnectWait,
    /// 2655049, 2494028: the account is already shared.
    AlreadyShared,
    /// 2388098: business verification is needed.
    BusinessVerification,
    /// 2494143: partner-led business verification started with another partner.
    VerificationElsewhere,
    /// 3441033, 1675004: too many attempts; wait.
    TooManyAttempts,
    /// Any other code, or none.
    Unknown,
}

impl FlowErrorFamily {
    /// Every family, for the tests that check each has its words.
    pub const ALL: [FlowErrorFamily; 10] = [
        FlowErrorFamily::CoexNotEligible,
        FlowErrorFamily::CoexMarketing,
        FlowErrorFamily::AppTooOld,
        FlowErrorFamily::SharedWithPartner,
        FlowErrorFamily::DisconnectWait,
        FlowErrorFamily::AlreadyShared,
        FlowErrorFamily::BusinessVerification,
        FlowErrorFamily::VerificationElsewhere,
        FlowErrorFamily::TooManyAttempts,
        FlowErrorFamily::Unknown,
    ];

    /// The family of Meta's `error_code` (or `error_id`), as received.
    pub fn of(code: Option<&str>) -> Self {
        match code.map(str::trim) {
            Some("3441045") => FlowErrorFamily::CoexNotEligible,
            Some("3441047") => FlowErrorFamily::CoexMarketing,
            Some("4563015") => FlowErrorFamily::AppTooOld,
            Some("2655093") => FlowErrorFamily::SharedWithPartner,
            Some("3441049" | "2655094") => FlowErrorFamily::DisconnectWait,
            Some("2655049" | "2494028") => FlowErrorFamily::AlreadyShared,
            Some("2388098") => FlowErrorFamily::BusinessVerification,
            Some("2494143") => FlowErrorFamily::VerificationElsewhere,
            Some("3441033" | "1675004") => FlowErrorFamily::TooManyAttempts,
            _ => FlowErrorFamily::Unknown,
        }
    }
}

/// The support reference of a popup error: Meta's `session_id` and the error code, as the
/// customer copies them to support. `None` when Meta sent neither.
pub fn support_reference(session_id: Option<&str>, code: Option<&str>) -> Option<String> {
    match (session_id, code) {
        (None, None) => None,
        (Some(s), None) => Some(format!("session {s}")),
        (None, Some(c)) => Some(format!("error {c}")),
        (Some(s), Some(c)) => Some(format!("session {s} · error {c}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_code_has_its_family() {
        let cases = [
            ("3441045", FlowErrorFamily::CoexNotEligible),
            ("3441047", FlowErrorFamily::CoexMarketing),
            ("4563015", FlowErrorFamily::AppTooOld),
            ("2655093", FlowErrorFamily::SharedWithPartner),
            ("3441049", FlowErrorFamily::DisconnectWait),
            ("2655094", FlowErrorFamily::DisconnectWait),
            ("2655049", FlowErrorFamily::AlreadyShared),
            ("2494028", FlowErrorFamily::AlreadyShared),
            ("2388098", FlowErrorFamily::BusinessVerification),
            ("2494143", FlowErrorFamily::VerificationElsewhere),
            ("3441033", FlowErrorFamily::TooManyAttempts),
            ("1675004", FlowErrorFamily::TooManyAttempts),
            (" 2655093 ", FlowErrorFamily::SharedWithPartner),
            ("999", FlowErrorFamily::Unknown),
            ("", FlowErrorFamily::Unknown),
        ];
        for (code, family) in cases {
            assert_eq!(FlowErrorFamily::of(Some(code)), family, "{code:?}");
        }
        assert_eq!(FlowErrorFamily::of(None), FlowErrorFamily::Unknown);
    }

    #[test]
    fn the_support_reference_names_what_meta_sent() {
        assert_eq!(
            support_reference(Some("abc123"), Some("2655093")).as_deref(),
            Some("session abc123 · error 2655093")
        );
        assert_eq!(
            support_reference(Some("abc"), None).as_deref(),
            Some("session abc")
        );
        assert_eq!(
            support_reference(None, Some("1")).as_deref(),
            Some("error 1")
        );
        assert_eq!(support_reference(None, None), None);
    }
}
