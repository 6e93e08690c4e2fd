//! The console's words, the widget's way: every sentence is a [`Msg`], and each language is
//! one exhaustive `match` over it, so a sentence missing in a language is a compile error.
//! English comes first; another language is one more match (and one more [`Locale`]).

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// English.
    En,
}

/// The language in use (one for now).
pub const LOCALE: Locale = Locale::En;

/// `msg` in the console's language.
pub fn t(msg: Msg) -> &'static str {
    match LOCALE {
        Locale::En => en(msg),
    }
}

macro_rules! catalogue {
    ($($(#[$doc:meta])* $name:ident => $en:literal,)*) => {
        /// Every sentence of the console.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Msg { $($(#[$doc])* #[allow(missing_docs)] $name,)* }

        impl Msg {
            /// Every message, for the tests.
            #[cfg(test)]
            pub const ALL: &'static [Msg] = &[$(Msg::$name,)*];
        }

        fn en(msg: Msg) -> &'static str {
            match msg { $(Msg::$name => $en,)* }
        }
    };
}

catalogue! {
    ConsoleTitle => "Partner console",
    Loading => "Loading…",
    SignInIntro => "Sign in with one of this proxy's partner API keys. The key is sent once and not kept by the browser; a session of 8 hours stands for it.",
    PartnerKey => "Partner API key",
    SignIn => "Sign in",
    WrongKey => "That is not one of this proxy's partner API keys.",
    SignOut => "Sign out",
    NavLabel => "Console",
    NavOnboardings => "Onboardings",
    NavLinks => "Links",
    NavDeliveries => "Deliveries",
    NavFunnel => "Funnel",
    NavSetup => "Setup check",
    NetworkError => "The proxy could not be reached. Check the connection and try again.",
    Refused => "The proxy refused this",
    NotOffered => "This proxy does not offer this action (it is older, or built without it).",
    OnboardingsIntro => "Newest first; the list reads itself again every few seconds.",
    State => "State",
    AnyState => "Any state",
    CustomerRef => "Customer reference",
    SearchWabaOrNumber => "WABA id, phone number id or phone number",
    Apply => "Apply",
    NoOnboardings => "No onboardings match.",
    Created => "Created",
    Updated => "Updated",
    Mode => "Mode",
    Waba => "WABA",
    PhoneNumberId => "Phone number id",
    PhoneNumber => "Phone number",
    Id => "Id",
    Newer => "Newer",
    Older => "Older",
    BackToOnboardings => "← All onboardings",
    OnboardingTitle => "Onboarding",
    Unverified => "(from the browser, unverified)",
    Health => "Health",
    NoHealth => "No health reading yet.",
    Sync => "Contacts and history sync",
    Contacts => "Contacts",
    History => "History",
    Steps => "Steps",
    Actions => "Actions",
    ActionRetry => "Retry the failed step",
    ActionRestart => "Restart",
    ActionDeregister => "Deregister the number",
    ActionReauthorize => "Ask to reauthorize",
    ConfirmRetry => "Retry this onboarding's failed step now?",
    ConfirmRestart => "Start a new onboarding for this customer from this one?",
    ConfirmDeregister => "Deregister this number from the Cloud API? It stops sending and receiving messages.",
    ConfirmReauthorize => "Ask this customer to sign in with Facebook again?",
    ActionDone => "Done.",
    NowInState => "Done. The onboarding is now:",
    Cancel => "Cancel",
    EventsSent => "Events sent for it",
    NoEvents => "No events yet.",
    Event => "Event",
    Onboarding => "Onboarding",
    Delivery => "Delivery",
    Attempts => "Attempts",
    LastError => "Last error",
    NextAttempt => "Next attempt",
    ShowEachAttempt => "show each",
    AttemptsOf => "Attempts of",
    Took => "took",
    NoAnswer => "no answer",
    Redeliver => "Redeliver",
    ConfirmRedeliver => "Post this event to the partner webhook again now?",
    RedeliverQueued => "The event is being posted again.",
    DeliveriesIntro => "Webhook deliveries that failed or are still being retried; the page reads itself again every few seconds.",
    SendTestEvent => "Send a test event",
    TestEventSent => "A signed ping was sent:",
    FailedDeliveries => "Failed",
    PendingDeliveries => "Pending",
    NothingHere => "Nothing here.",
    LinksIntro => "A link lets one customer connect WhatsApp. Hand it over as a URL or a QR code.",
    CustomerName => "Customer's name (shown to them)",
    Modes => "Modes",
    Language => "Language",
    CustomersBrowser => "The customer's browser language",
    Expires => "Expires",
    OneHour => "In 1 hour",
    OneDay => "In 1 day",
    OneWeek => "In 7 days",
    ThirtyDays => "30 days",
    SevenDays => "7 days",
    Metadata => "Metadata (JSON object, optional)",
    Prefill => "Pre-filled data for Meta's form (JSON object, optional)",
    CreateLink => "Create link",
    PickAMode => "Pick at least one mode.",
    NotAnObject => "Metadata and pre-filled data must each be a JSON object.",
    LinkCreated => "Link created.",
    NewLink => "New link",
    LinkUrl => "Link",
    ShownOnce => "Copy it now: it is shown only once.",
    ExpiresAt => "It expires at",
    QrLabel => "QR code of the link",
    Links => "Links",
    SessionListNotOffered => "This proxy cannot list links yet; new links still work, and can be revoked by their id through the partner API.",
    OnboardingsCreated => "Onboardings",
    Revoked => "Revoked",
    Active => "Active",
    Revoke => "Revoke",
    ConfirmRevoke => "Revoke this link? It stops working at once.",
    LinkRevoked => "Link revoked.",
    FunnelIntro => "How far customers got: links created, opened, popups launched, sign-ups finished and numbers connected.",
    Window => "Period",
    Since => "Since",
    Funnel => "Funnel",
    SessionsCreated => "Links created",
    LinksOpened => "Links opened",
    PopupsLaunched => "Popups launched",
    Finished => "Sign-ups finished",
    Connected => "Connected",
    Cancelled => "Cancelled, by step",
    PopupErrors => "Popup errors, by code",
    NotRecorded => "not recorded",
    PopupsNotRecorded => "This proxy does not record popup launches, cancellations or errors yet: those bars stay empty.",
    ModeOfProxy => "Mode",
    Provider => "Provider",
    PublicUrl => "Public URL",
    YcloudWebhookUrl => "YCloud webhook address",
    MetaWebhookUrl => "Meta webhook address",
    Setting => "Setting",
    Status => "Status",
    WhatToDo => "What to do",
    Set => "Set",
    Missing => "Missing",
    NotNeeded => "Not needed here",
    FixYcloudKey => "Set YCLOUD_API_KEY to the key from YCloud's console.",
    FixYcloudWebhook => "Create a webhook endpoint at YCloud pointing at the YCloud webhook address above, and set YCLOUD_WEBHOOK_SECRET to its secret.",
    FixFbApp => "Set FB_APP_ID and FB_CONFIG_ID from your Meta app's Embedded Signup configuration.",
    FixAppSecret => "Set FB_APP_SECRET to your Meta app's secret, so sign-ups are verified.",
    FixPartnerWebhook => "Set PARTNER_WEBHOOK_URL to your backend's endpoint and PARTNER_WEBHOOK_SECRET to a whsec_ secret, so your backend learns of every change.",
    FixEncryptionKey => "Set TOKEN_ENCRYPTION_KEY to base64 of 32 random bytes.",
    FixVerifyToken => "Set META_WEBHOOK_VERIFY_TOKEN, and give Meta the same token with the Meta webhook address above.",
    FixSetting => "Set it in the proxy's environment.",
    LastDelivery => "Partner webhook: last delivery",
    NoDeliveryYet => "No delivery attempted yet. Send a test event from the Deliveries page.",
    FixDelivery => "Check that the endpoint answers 2xx and verifies with PARTNER_WEBHOOK_SECRET, then redeliver.",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_english_words() {
        for msg in Msg::ALL {
            assert!(!t(*msg).trim().is_empty(), "{msg:?}");
        }
    }
}
