//! The widget's words in English, 简体中文, 繁體中文 and Tiếng Việt.
//!
//! Each language is one exhaustive `match` over [`Msg`]: a key missing in any language is a
//! compile error (in every build, the browser's included), and the tests check that
//! placeholders agree across languages. Sentences with a value carry a `{name}` placeholder,
//! filled by [`Locale::fill`].
//!
//! The browser bundle speaks English by itself and gets the other languages when a widget
//! needs one (`static/i18n/{tag}.json`: the sentences in [`Msg::ALL`]'s order, written from
//! these matches and checked against them by `the_delivered_languages_are_the_catalogue`),
//! so a page never downloads the three languages it is not showing. Natively, and in the
//! browser tests (feature `all-languages`), every language is compiled in.

/// A language the widget speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    /// English.
    En,
    /// Simplified Chinese.
    ZhHans,
    /// Traditional Chinese.
    ZhHant,
    /// Vietnamese.
    Vi,
}

impl Locale {
    /// Every language, in the order of the language switch.
    pub const ALL: [Locale; 4] = [Locale::En, Locale::ZhHans, Locale::ZhHant, Locale::Vi];

    /// BCP 47 tag, for `lang` attributes and the `locale` option: the protocol's spelling
    /// ([`wire::Locale`]), the one the proxy and the partner API use too.
    pub fn tag(self) -> &'static str {
        wire::Locale::from(self).as_str()
    }

    /// The language's name in itself, for the switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::ZhHans => "简体中文",
            Locale::ZhHant => "繁體中文",
            Locale::Vi => "Tiếng Việt",
        }
    }

    /// Reads one language tag (`zh-TW`, `zh_CN`, `vi-VN`, `en-GB`, `zh-Hant-HK`...).
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let lower = tag.trim().replace('_', "-").to_ascii_lowercase();
        let mut parts = lower.split('-');
        match parts.next()? {
            "en" => Some(Locale::En),
            "vi" => Some(Locale::Vi),
            "zh" => {
                let rest: Vec<&str> = parts.collect();
                let traditional = rest
                    .iter()
                    .any(|p| matches!(*p, "hant" | "tw" | "hk" | "mo"))
                    && !rest.contains(&"hans");
                Some(if traditional {
                    Locale::ZhHant
                } else {
                    Locale::ZhHans
                })
            }
            _ => None,
        }
    }

    /// The language a widget opens in: the page's explicit choice (a tag the widget speaks),
    /// else the session's (the partner knows its customer), else the browser's, else English.
    pub fn initial<'a>(
        explicit: Option<&str>,
        session: Option<wire::Locale>,
        browser: impl IntoIterator<Item = &'a str>,
    ) -> Locale {
        explicit
            .and_then(Locale::from_tag)
            .or(session.map(Locale::from))
            .unwrap_or_else(|| Locale::negotiate(browser))
    }

    /// The first language of `preferred` the widget speaks, else English.
    pub fn negotiate<'a>(preferred: impl IntoIterator<Item = &'a str>) -> Locale {
        preferred
            .into_iter()
            .find_map(Locale::from_tag)
            .unwrap_or(Locale::En)
    }

    /// The sentence for `msg` (English while the language has not arrived: see
    /// [`Locale::is_ready`]).
    pub fn t(self, msg: Msg) -> &'static str {
        match self {
            Locale::En => en(msg),
            other => delivered::text(other, msg),
        }
    }

    /// Whether [`Locale::t`] speaks this language now: English always, the others once
    /// delivered ([`deliver`]) in the browser bundle, always elsewhere.
    pub fn is_ready(self) -> bool {
        self == Locale::En || delivered::is_ready(self)
    }

    /// Every sentence, in [`Msg::ALL`]'s order: what `static/i18n/{tag}.json` holds.
    #[cfg(any(not(target_arch = "wasm32"), feature = "all-languages"))]
    pub fn catalogue(self) -> Vec<&'static str> {
        Msg::ALL
            .iter()
            .map(|&m| delivered::compiled(self, m))
            .collect()
    }

    /// The sentence for `msg` with each `{name}` replaced by its value.
    pub fn fill(self, msg: Msg, values: &[(&str, &str)]) -> String {
        let mut text = self.t(msg).to_string();
        for (name, value) in values {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }
}

impl Locale {
    /// "Connecting WhatsApp to {partner} for {customer}", as far as the two are known
    /// (`PARTNER_NAME`, the session's `customer_name`); `None` when neither is.
    pub fn connecting(self, partner: Option<&str>, customer: Option<&str>) -> Option<String> {
        let values = [
            ("partner", partner.unwrap_or("")),
            ("customer", customer.unwrap_or("")),
        ];
        let msg = match (partner, customer) {
            (Some(_), Some(_)) => Msg::ConnectingToFor,
            (Some(_), None) => Msg::ConnectingTo,
            (None, Some(_)) => Msg::ConnectingFor,
            (None, None) => return None,
        };
        Some(self.fill(msg, &values))
    }
}

/// Hands a language's sentences (as in `static/i18n/{tag}.json`) to [`Locale::t`]. False
/// when they are not one per [`Msg`], so a stale file can never shift sentences around
/// (the widget then stays in the language it shows).
pub fn deliver(locale: Locale, sentences: Vec<String>) -> bool {
    sentences.len() == Msg::ALL.len() && delivered::install(locale, sentences)
}

/// Every language compiled in.
#[cfg(any(not(target_arch = "wasm32"), feature = "all-languages"))]
mod delivered {
    use super::*;

    pub fn text(locale: Locale, msg: Msg) -> &'static str {
        compiled(locale, msg)
    }

    pub fn compiled(locale: Locale, msg: Msg) -> &'static str {
        match locale {
            Locale::En => en(msg),
            Locale::ZhHans => zh_hans(msg),
            Locale::ZhHant => zh_hant(msg),
            Locale::Vi => vi(msg),
        }
    }

    pub fn is_ready(_: Locale) -> bool {
        true
    }

    pub fn install(_: Locale, _: Vec<String>) -> bool {
        true
    }
}

/// English compiled in; the others as delivered (kept for the page's life: a few KB each).
#[cfg(all(target_arch = "wasm32", not(feature = "all-languages")))]
mod delivered {
    use super::*;
    use std::cell::RefCell;

    thread_local! {
        static DELIVERED: RefCell<Vec<(Locale, &'static [String])>> = const { RefCell::new(Vec::new()) };
    }

    fn table(locale: Locale) -> Option<&'static [String]> {
        DELIVERED.with(|d| {
            d.borrow()
                .iter()
                .find(|(l, _)| *l == locale)
                .map(|(_, t)| *t)
        })
    }

    pub fn text(locale: Locale, msg: Msg) -> &'static str {
        match table(locale) {
            Some(sentences) => sentences[msg as usize].as_str(),
            None => en(msg),
        }
    }

    pub fn is_ready(locale: Locale) -> bool {
        table(locale).is_some()
    }

    pub fn install(locale: Locale, sentences: Vec<String>) -> bool {
        if table(locale).is_none() {
            let sentences: &'static [String] = Box::leak(sentences.into_boxed_slice());
            DELIVERED.with(|d| d.borrow_mut().push((locale, sentences)));
        }
        true
    }
}

/// The one place the protocol's spelling meets the widget's languages.
impl From<wire::Locale> for Locale {
    fn from(l: wire::Locale) -> Locale {
        match l {
            wire::Locale::En => Locale::En,
            wire::Locale::ZhHans => Locale::ZhHans,
            wire::Locale::ZhHant => Locale::ZhHant,
            wire::Locale::Vi => Locale::Vi,
        }
    }
}

impl From<Locale> for wire::Locale {
    fn from(l: Locale) -> wire::Locale {
        match l {
            Locale::En => wire::Locale::En,
            Locale::ZhHans => wire::Locale::ZhHans,
            Locale::ZhHant => wire::Locale::ZhHant,
            Locale::Vi => wire::Locale::Vi,
        }
    }
}

macro_rules! messages {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Every sentence the widget shows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Msg { $($(#[$doc])* $name),* }

        impl Msg {
            /// Every key, for the completeness tests.
            pub const ALL: &'static [Msg] = &[$(Msg::$name),*];
        }
    };
}

messages! {
    /// Heading.
    Title,
    /// One line under the heading.
    Intro,
    /// The badge shown in sandbox mode.
    SandboxBadge,
    /// Label of the language switch.
    Language,
    /// Standard mode button.
    LaunchStandard,
    /// Standard mode explanation.
    ExplainStandard,
    /// Coexistence mode button.
    LaunchCoexistence,
    /// Coexistence mode explanation.
    ExplainCoexistence,
    /// Loading the SDK.
    LoadingSdk,
    /// SDK blocked.
    SdkBlocked,
    /// What to do about a blocked SDK.
    SdkBlockedHelp,
    /// Ready.
    Ready,
    /// The popup is open.
    InPopup,
    /// What to do if no popup shows.
    InPopupHelp,
    /// Sending the ids to the proxy.
    Submitting,
    /// Onboarding under way.
    Pending,
    /// Connected.
    Connected,
    /// Cancelled, at a named step: `{step}`.
    CancelledAt,
    /// Cancelled with no step.
    Cancelled,
    /// Next step after a cancel.
    CancelledHelp,
    /// Meta's error report: `{message}`.
    MetaError,
    /// Popup error 3441045: the number cannot keep the WhatsApp Business app.
    FlowCoexNotEligible,
    /// Popup error 3441047: coexistence is unavailable with Marketing Messages.
    FlowCoexMarketing,
    /// Popup error 4563015: the WhatsApp Business app is too old.
    FlowAppTooOld,
    /// Popup error 2655093: the account is shared with another partner.
    FlowSharedWithPartner,
    /// Popup errors 3441049, 2655094: disconnect, then wait 15 minutes.
    FlowDisconnectWait,
    /// Popup errors 2655049, 2494028: the account is already shared.
    FlowAlreadyShared,
    /// Popup error 2388098: business verification is needed.
    FlowBusinessVerification,
    /// Popup error 2494143: business verification started with another partner.
    FlowVerificationElsewhere,
    /// Popup errors 3441033, 1675004: too many attempts.
    FlowTooManyAttempts,
    /// Any other popup error.
    FlowUnknown,
    /// The copyable support reference: `{reference}`.
    SupportReference,
    /// Login not authorized.
    NotAuthorized,
    /// Popup ended with no message.
    TimedOut,
    /// What to do after a timeout.
    TimedOutHelp,
    /// The SDK's login call failed.
    PopupFailed,
    /// A finish without usable ids.
    InvalidFinish,
    /// The proxy cannot be reached.
    ProxyUnreachable,
    /// What to do when the proxy is down.
    ProxyUnreachableHelp,
    /// The proxy refused the request: `{message}`.
    Refused,
    /// No payment method attached yet (only the provider can see to it).
    PaymentPending,
    /// A WABA-only finish: no number to register.
    NumberMissing,
    /// The number was banned or blocked by Meta.
    NumberBlocked,
    /// The number was deleted from the WABA.
    NumberDeleted,
    /// The partner was removed from the WABA.
    PartnerRemoved,
    /// The partner's app was uninstalled from the WABA.
    AppUninstalled,
    /// Meta disabled the WABA.
    WabaBanned,
    /// Meta scheduled the WABA to be disabled.
    WabaBanScheduled,
    /// Meta's review rejected the WABA.
    WabaRejected,
    /// The WABA was deleted.
    WabaDeleted,
    /// A step failed for a reason only the provider can look into.
    SetupStopped,
    /// The service behind the provider failed for a moment.
    ServiceUnavailable,
    /// Next step: the provider was told and finishes the setup; the customer waits.
    ProviderFinishes,
    /// After [`Msg::ProviderFinishes`], when "Try again" is offered.
    RetryOnceFixed,
    /// Next step: the provider was told; the customer may start again.
    ProviderToldStartAgain,
    /// Next step: the provider was told; nothing to do here.
    ProviderToldNothing,
    /// Next step after a passing failure.
    TryLater,
    /// The provider took the number off the platform (`deregistered`).
    Deregistered,
    /// What to do about a deregistered number.
    DeregisteredHelp,
    /// A step failed with a code this widget does not know: `{message}` (the proxy's).
    OnboardingFailed,
    /// Reference to quote to the provider (YCloud's request id): `{request}`.
    UpstreamRequest,
    /// The page needs a session link and has none.
    SessionMissing,
    /// What to do without a session link.
    SessionMissingHelp,
    /// The session link is unknown, expired or revoked.
    SessionInvalid,
    /// Ask the business that sent the link for a new one.
    AskNewLink,
    /// The session does not allow the mode launched.
    ModeNotAllowed,
    /// The session created all the onboardings it may.
    SessionExhausted,
    /// The page's customerRef is not the session's.
    CustomerRefMismatch,
    /// What to do about a page set up wrongly.
    CustomerRefMismatchHelp,
    /// The WABA and number belong to another customer's onboarding.
    AlreadyOnboarded,
    /// What to do about a WABA and number onboarded for another customer.
    AlreadyOnboardedHelp,
    /// Register limit reached; free at `{when}`.
    RegisterLimit,
    /// Try again.
    TryAgain,
    /// Heading of the progress list.
    ProgressTitle,
    /// Step: WABA bound.
    StepBound,
    /// Step: payment method attached.
    StepPayment,
    /// Step: number registered.
    StepRegistered,
    /// Step: connected.
    StepConnected,
    /// Step done (for screen readers, beside the mark).
    StepDone,
    /// Step in progress.
    StepActive,
    /// Step waiting.
    StepWaiting,
    /// Step failed.
    StepFailed,
    /// WABA id label.
    WabaLabel,
    /// Phone number id label (the Graph id, secondary detail).
    NumberLabel,
    /// The number as people know it (`+1 555-000-1234`).
    NumberShownLabel,
    /// The business name WhatsApp shows with the number.
    VerifiedNameLabel,
    /// Cancel step names.
    StepBusinessAccountSelection,
    /// Cancel step name.
    StepWabaPhoneProfilePicker,
    /// Cancel step name.
    StepWhatsAppBusinessProfileSetup,
    /// Cancel step name.
    StepPhoneNumberSetup,
    /// Cancel step name.
    StepPhoneNumberVerification,
    /// Cancel step name.
    StepPermissions,
    /// The number already has a two-step verification PIN: one more step (status region).
    PinAsk,
    /// The PIN field's label.
    PinLabel,
    /// Under the PIN field: which PIN, and what to do without it.
    PinHint,
    /// The PIN form's button.
    PinSubmit,
    /// The PIN is on its way to WhatsApp.
    PinSending,
    /// What was typed is not six digits (the field's error).
    PinInvalid,
    /// WhatsApp refused the PIN sent from this page.
    PinWrong,
    /// After a wrong PIN: check it, and wrong tries count towards a lock-out.
    PinWrongHelp,
    /// The PIN did not get through (proxy unreachable, busy or rate-limited).
    PinNotSent,
    /// Too many wrong PINs: WhatsApp locked the number's PIN checks.
    PinLocked,
    /// What to do about a locked PIN; says the provider has been told.
    PinLockedHelp,
    /// Under a limit that says when: another number may be connected meanwhile.
    AnotherNumber,
    /// The finished page's link back to the partner: `{partner}`.
    ReturnTo,
    /// The same link when the partner's name is not known.
    ReturnBack,
    /// Before the buttons: whom the sign-up connects, `{partner}` and `{customer}`.
    ConnectingToFor,
    /// The same when only the partner is known.
    ConnectingTo,
    /// The same when only the customer is known.
    ConnectingFor,
}

fn en(m: Msg) -> &'static str {
    use Msg::*;
    match m {
        Title => "Connect WhatsApp",
        Intro => "Connect your business's WhatsApp number. It takes about five minutes in a Facebook window.",
        SandboxBadge => "Sandbox: nothing here is real",
        Language => "Language",
        LaunchStandard => "Connect a new number",
        ExplainStandard => "Use a number that is not on WhatsApp yet, for the WhatsApp Business Platform.",
        LaunchCoexistence => "Keep using the WhatsApp Business App",
        ExplainCoexistence => "Connect the number you already use in the WhatsApp Business App and keep using the app.",
        LoadingSdk => "Loading Facebook…",
        SdkBlocked => "Facebook could not be loaded in this browser.",
        SdkBlockedHelp => "An ad blocker or tracking protection may be blocking it. Allow facebook.net for this page, then try again.",
        Ready => "Choose how to connect your number.",
        InPopup => "Continue in the Facebook window.",
        InPopupHelp => "No window? Allow pop-ups for this page and click the button again.",
        Submitting => "Saving your account…",
        Pending => "Setting up your number. This page updates by itself.",
        Connected => "Your WhatsApp number is connected.",
        CancelledAt => "You closed the Facebook window at the step “{step}”.",
        Cancelled => "You closed the Facebook window before finishing.",
        CancelledHelp => "Nothing was created. Click a button to start again when you are ready.",
        MetaError => "Facebook reported an error: {message}",
        FlowCoexNotEligible => "This number can't be connected while keeping the WhatsApp Business app. Use an eligible number, or connect it as a new number.",
        FlowCoexMarketing => "This account uses Marketing Messages, which can't be combined with the WhatsApp Business app. Connect it as a new number instead.",
        FlowAppTooOld => "Update the WhatsApp Business app on your phone to version 2.24.17 or later, then try again.",
        FlowSharedWithPartner => "This WhatsApp account is connected to another provider. Disconnect it in the WhatsApp Business app, then try again.",
        FlowDisconnectWait => "Disconnect the number from the other provider, wait 15 minutes, then try again.",
        FlowAlreadyShared => "This WhatsApp account is already shared. Choose another account, or ask the site's team to check the existing connection.",
        FlowBusinessVerification => "Meta needs your business to be verified first. Complete business verification in Meta Business Suite, then try again.",
        FlowVerificationElsewhere => "Business verification was started with another partner. Finish it there or wait for it to end, then try again.",
        FlowTooManyAttempts => "Too many attempts. Wait a few hours, then try again.",
        FlowUnknown => "Something went wrong in the Facebook window. Try again; if it happens again, contact support with the reference below.",
        SupportReference => "Support reference: {reference}",
        NotAuthorized => "Facebook did not grant the permissions needed. Please try again and accept them.",
        TimedOut => "The Facebook window did not report back.",
        TimedOutHelp => "If this keeps happening, this site may not be allowed in the Facebook app's settings. Please tell the site's team.",
        PopupFailed => "The Facebook window could not be opened. Please reload the page and try again.",
        InvalidFinish => "Facebook finished without the account details. Please try again.",
        ProxyUnreachable => "The server cannot be reached right now.",
        ProxyUnreachableHelp => "Your account details are kept in this page. Check your connection, then try again.",
        Refused => "The server refused the request: {message}",
        PaymentPending => "Your WhatsApp Business Account was created, but its payment method for messages is not set up yet.",
        NumberMissing => "Your WhatsApp Business Account was created without a phone number. Click a button to start again and add a number.",
        NumberBlocked => "Meta has blocked this phone number, so it cannot be connected.",
        NumberDeleted => "This phone number was removed from your WhatsApp Business Account.",
        PartnerRemoved => "Your provider's access to your WhatsApp Business Account was removed.",
        AppUninstalled => "Your provider's app was removed from your WhatsApp Business Account.",
        WabaBanned => "Meta has disabled this WhatsApp Business Account, so it cannot be connected.",
        WabaBanScheduled => "Meta plans to disable this WhatsApp Business Account.",
        WabaRejected => "Meta's review did not approve this WhatsApp Business Account.",
        WabaDeleted => "This WhatsApp Business Account was deleted.",
        SetupStopped => "The setup of your number could not be finished.",
        ServiceUnavailable => "The service that connects WhatsApp numbers is not answering right now.",
        ProviderFinishes => "Your provider has been told and will finish the setup; you do not need to do anything.",
        RetryOnceFixed => "You can also click Try again once it is fixed.",
        ProviderToldStartAgain => "Your provider has been told. Click a button to start again when you are ready.",
        ProviderToldNothing => "Your provider has been told and will contact you if anything is needed.",
        TryLater => "Please try again in a few minutes.",
        Deregistered => "Your provider has disconnected this number from the WhatsApp Business Platform.",
        DeregisteredHelp => "If you want it connected again, please ask your provider.",
        OnboardingFailed => "A step did not succeed: {message}",
        UpstreamRequest => "If you contact your provider, quote the reference {request}.",
        SessionMissing => "This page only works with a personal sign-up link.",
        SessionMissingHelp => "Please ask the business that sent you here for your link.",
        SessionInvalid => "This sign-up link is no longer valid.",
        AskNewLink => "Please ask the business that sent it to you for a new link.",
        ModeNotAllowed => "Your sign-up link does not allow this way of connecting.",
        SessionExhausted => "This sign-up link has been used as many times as it allows.",
        CustomerRefMismatch => "This sign-up page is not set up correctly, so nothing was saved.",
        CustomerRefMismatchHelp => "Please tell your provider: they need to fix the page or send you a new link.",
        AlreadyOnboarded => "This WhatsApp Business Account and number are already connected for another customer.",
        AlreadyOnboardedHelp => "You can click a button to start again with another number, or ask your provider if this seems wrong.",
        RegisterLimit => "This number has reached Meta's limit of registration attempts. It can be tried again after {when}.",
        TryAgain => "Try again",
        ProgressTitle => "Progress",
        StepBound => "WhatsApp Business Account linked",
        StepPayment => "Payment method attached",
        StepRegistered => "Phone number registered",
        StepConnected => "Number connected",
        StepDone => "done",
        StepActive => "in progress",
        StepWaiting => "waiting",
        StepFailed => "needs attention",
        WabaLabel => "WhatsApp Business Account ID",
        NumberLabel => "Phone number ID",
        NumberShownLabel => "Phone number",
        VerifiedNameLabel => "Business name",
        StepBusinessAccountSelection => "choose a business portfolio",
        StepWabaPhoneProfilePicker => "choose a WhatsApp Business Account",
        StepWhatsAppBusinessProfileSetup => "set up the business profile",
        StepPhoneNumberSetup => "add a phone number",
        StepPhoneNumberVerification => "verify the phone number",
        StepPermissions => "review permissions",
        PinAsk => "One more step: this number already has a two-step verification PIN, and WhatsApp needs it to connect the number.",
        PinLabel => "Two-step verification PIN",
        PinHint => "Enter the 6-digit PIN set for this number in WhatsApp. If you do not know it, you can reset it in WhatsApp Manager.",
        PinSubmit => "Send PIN",
        PinSending => "Checking your PIN…",
        PinInvalid => "Enter exactly 6 digits (0 to 9).",
        PinWrong => "That PIN is not this number's two-step verification PIN.",
        PinWrongHelp => "Check it and try again. Each wrong PIN counts towards a lock-out, so if you are not sure, reset it in WhatsApp Manager first.",
        PinNotSent => "Your PIN could not be sent just now. Please wait a moment and send it again.",
        PinLocked => "Too many wrong PINs were tried, so WhatsApp has locked this number's PIN checks for a while.",
        PinLockedHelp => "Your provider has been told. Please wait before trying again (often a few hours), and reset the PIN in WhatsApp Manager if you are not sure of it.",
        AnotherNumber => "Meanwhile, you can connect another number.",
        ReturnTo => "Return to {partner}",
        ReturnBack => "Return to the previous site",
        ConnectingToFor => "Connecting WhatsApp to {partner} for {customer}",
        ConnectingTo => "Connecting WhatsApp to {partner}",
        ConnectingFor => "Connecting WhatsApp for {customer}",
    }
}

// Compiled in every build, so a missing sentence is a compile error there too; the browser
// bundle does not call these (its copies of the sentences arrive as JSON).
#[cfg_attr(
    all(target_arch = "wasm32", not(feature = "all-languages")),
    allow(dead_code)
)]
fn zh_hans(m: Msg) -> &'static str {
    use Msg::*;
    match m {
        Title => "连接 WhatsApp",
        Intro => "连接您企业的 WhatsApp 号码。在 Facebook 窗口中完成，大约需要五分钟。",
        SandboxBadge => "沙盒模式：这里的一切都不是真实的",
        Language => "语言",
        LaunchStandard => "连接新号码",
        ExplainStandard => "使用尚未注册 WhatsApp 的号码，接入 WhatsApp Business Platform。",
        LaunchCoexistence => "继续使用 WhatsApp Business App",
        ExplainCoexistence => "连接您已在 WhatsApp Business App 中使用的号码，并可继续使用该应用。",
        LoadingSdk => "正在加载 Facebook…",
        SdkBlocked => "此浏览器无法加载 Facebook。",
        SdkBlockedHelp => "可能被广告拦截或跟踪保护阻止。请为此页面允许 facebook.net，然后重试。",
        Ready => "请选择连接号码的方式。",
        InPopup => "请在 Facebook 窗口中继续。",
        InPopupHelp => "没有看到窗口？请允许此页面弹出窗口，然后再次点击按钮。",
        Submitting => "正在保存您的账户…",
        Pending => "正在设置您的号码，此页面会自动更新。",
        Connected => "您的 WhatsApp 号码已连接。",
        CancelledAt => "您在“{step}”步骤关闭了 Facebook 窗口。",
        Cancelled => "您在完成前关闭了 Facebook 窗口。",
        CancelledHelp => "未创建任何内容。准备好后，点击按钮重新开始。",
        MetaError => "Facebook 报告了一个错误：{message}",
        FlowCoexNotEligible => "这个号码无法在保留 WhatsApp Business 应用的同时接入。请换用符合条件的号码，或将它作为新号码接入。",
        FlowCoexMarketing => "该账户已使用营销消息功能，无法与 WhatsApp Business 应用同时使用。请改为作为新号码接入。",
        FlowAppTooOld => "请先将手机上的 WhatsApp Business 应用更新到 2.24.17 或更高版本，然后重试。",
        FlowSharedWithPartner => "这个 WhatsApp 账户已接入其他服务商。请先在 WhatsApp Business 应用中断开连接，然后重试。",
        FlowDisconnectWait => "请先断开该号码与其他服务商的连接，等待 15 分钟后再重试。",
        FlowAlreadyShared => "这个 WhatsApp 账户已被共享。请选择其他账户，或请网站团队检查现有连接。",
        FlowBusinessVerification => "Meta 要求先完成企业验证。请在 Meta Business Suite 中完成企业验证后重试。",
        FlowVerificationElsewhere => "企业验证已通过另一家合作伙伴发起。请在那里完成验证或等待其结束后再重试。",
        FlowTooManyAttempts => "尝试次数过多。请等待几个小时后再重试。",
        FlowUnknown => "Facebook 窗口中出现了问题。请重试；如果再次发生，请凭下方的参考编号联系客服。",
        SupportReference => "客服参考编号：{reference}",
        NotAuthorized => "Facebook 未授予所需权限。请重试并接受授权。",
        TimedOut => "Facebook 窗口没有返回结果。",
        TimedOutHelp => "如果反复出现，可能是本网站未在 Facebook 应用设置中获准。请告知网站团队。",
        PopupFailed => "无法打开 Facebook 窗口。请刷新页面后重试。",
        InvalidFinish => "Facebook 已完成，但未提供账户信息。请重试。",
        ProxyUnreachable => "暂时无法连接服务器。",
        ProxyUnreachableHelp => "您的账户信息已保留在此页面。请检查网络连接，然后重试。",
        Refused => "服务器拒绝了请求：{message}",
        PaymentPending => "您的 WhatsApp Business 账户已创建，但用于发送消息的付款方式尚未设置。",
        NumberMissing => {
            "您的 WhatsApp Business 账户已创建，但没有电话号码。请点击按钮重新开始并添加号码。"
        }
        NumberBlocked => "Meta 已封锁此电话号码，无法连接。",
        NumberDeleted => "此电话号码已从您的 WhatsApp Business 账户中移除。",
        PartnerRemoved => "您的服务商对您 WhatsApp Business 账户的访问权限已被移除。",
        AppUninstalled => "您的服务商的应用已从您的 WhatsApp Business 账户中移除。",
        WabaBanned => "Meta 已停用此 WhatsApp Business 账户，无法连接。",
        WabaBanScheduled => "Meta 计划停用此 WhatsApp Business 账户。",
        WabaRejected => "此 WhatsApp Business 账户未通过 Meta 的审核。",
        WabaDeleted => "此 WhatsApp Business 账户已被删除。",
        SetupStopped => "您的号码设置未能完成。",
        ServiceUnavailable => "连接 WhatsApp 号码的服务暂时没有响应。",
        ProviderFinishes => "已通知您的服务商，服务商将完成设置，您无需进行任何操作。",
        RetryOnceFixed => "问题解决后，您也可以点击“重试”。",
        ProviderToldStartAgain => "已通知您的服务商。准备好后，点击按钮重新开始。",
        ProviderToldNothing => "已通知您的服务商，如有需要，服务商会与您联系。",
        TryLater => "请几分钟后重试。",
        Deregistered => "您的服务商已将此号码从 WhatsApp Business Platform 断开。",
        DeregisteredHelp => "如需重新连接，请联系您的服务商。",
        OnboardingFailed => "有一个步骤未成功：{message}",
        UpstreamRequest => "联系服务商时，请提供参考编号 {request}。",
        SessionMissing => "此页面只能通过您的专属注册链接使用。",
        SessionMissingHelp => "请向引导您来到这里的商家索取链接。",
        SessionInvalid => "此注册链接已失效。",
        AskNewLink => "请联系向您发送此链接的商家，索取新链接。",
        ModeNotAllowed => "您的注册链接不支持这种连接方式。",
        SessionExhausted => "此注册链接的使用次数已达上限。",
        CustomerRefMismatch => "此注册页面设置有误，因此未保存任何内容。",
        CustomerRefMismatchHelp => "请告知您的服务商：他们需要修正页面或向您发送新链接。",
        AlreadyOnboarded => "此 WhatsApp Business 账户和号码已为另一位客户连接。",
        AlreadyOnboardedHelp => {
            "您可以点击按钮，使用其他号码重新开始；如有疑问，请联系您的服务商。"
        }
        RegisterLimit => "此号码已达到 Meta 的注册次数上限，可在 {when} 之后重试。",
        TryAgain => "重试",
        ProgressTitle => "进度",
        StepBound => "已关联 WhatsApp Business 账户",
        StepPayment => "已绑定付款方式",
        StepRegistered => "已注册电话号码",
        StepConnected => "号码已连接",
        StepDone => "已完成",
        StepActive => "进行中",
        StepWaiting => "等待中",
        StepFailed => "需要处理",
        WabaLabel => "WhatsApp Business 账户 ID",
        NumberLabel => "电话号码 ID",
        NumberShownLabel => "电话号码",
        VerifiedNameLabel => "商家名称",
        StepBusinessAccountSelection => "选择企业资产组合",
        StepWabaPhoneProfilePicker => "选择 WhatsApp Business 账户",
        StepWhatsAppBusinessProfileSetup => "设置企业资料",
        StepPhoneNumberSetup => "添加电话号码",
        StepPhoneNumberVerification => "验证电话号码",
        StepPermissions => "查看权限",
        PinAsk => "还差一步：此号码已设置两步验证 PIN 码，WhatsApp 需要它才能连接该号码。",
        PinLabel => "两步验证 PIN 码",
        PinHint => "请输入在 WhatsApp 中为此号码设置的 6 位 PIN 码。如果您不知道，可以在 WhatsApp 管理工具中重置。",
        PinSubmit => "发送 PIN 码",
        PinSending => "正在验证您的 PIN 码…",
        PinInvalid => "请输入正好 6 位数字（0 到 9）。",
        PinWrong => "该 PIN 码不是此号码的两步验证 PIN 码。",
        PinWrongHelp => "请检查后重试。每次输错都会计入锁定次数，如果您不确定，请先在 WhatsApp 管理工具中重置。",
        PinNotSent => "暂时无法发送您的 PIN 码。请稍候片刻再发送。",
        PinLocked => "尝试的错误 PIN 码过多，WhatsApp 已暂时锁定此号码的 PIN 码验证。",
        PinLockedHelp => "已通知您的服务商。请等待一段时间（通常为几个小时）后再试；如果不确定 PIN 码，请先在 WhatsApp 管理工具中重置。",
        AnotherNumber => "在此期间，您可以连接其他号码。",
        ReturnTo => "返回 {partner}",
        ReturnBack => "返回上一个网站",
        ConnectingToFor => "正在为 {customer} 将 WhatsApp 连接到 {partner}",
        ConnectingTo => "正在将 WhatsApp 连接到 {partner}",
        ConnectingFor => "正在为 {customer} 连接 WhatsApp",
    }
}

#[cfg_attr(
    all(target_arch = "wasm32", not(feature = "all-languages")),
    allow(dead_code)
)]
fn zh_hant(m: Msg) -> &'static str {
    use Msg::*;
    match m {
        Title => "連結 WhatsApp",
        Intro => "連結您企業的 WhatsApp 號碼。在 Facebook 視窗中完成，大約需要五分鐘。",
        SandboxBadge => "沙盒模式：這裡的一切都不是真實的",
        Language => "語言",
        LaunchStandard => "連結新號碼",
        ExplainStandard => "使用尚未註冊 WhatsApp 的號碼，接入 WhatsApp Business Platform。",
        LaunchCoexistence => "繼續使用 WhatsApp Business App",
        ExplainCoexistence => {
            "連結您已在 WhatsApp Business App 中使用的號碼，並可繼續使用該應用程式。"
        }
        LoadingSdk => "正在載入 Facebook…",
        SdkBlocked => "此瀏覽器無法載入 Facebook。",
        SdkBlockedHelp => "可能被廣告攔截或追蹤保護封鎖。請為此頁面允許 facebook.net，然後重試。",
        Ready => "請選擇連結號碼的方式。",
        InPopup => "請在 Facebook 視窗中繼續。",
        InPopupHelp => "沒有看到視窗？請允許此頁面彈出視窗，然後再次點選按鈕。",
        Submitting => "正在儲存您的帳戶…",
        Pending => "正在設定您的號碼，此頁面會自動更新。",
        Connected => "您的 WhatsApp 號碼已連結。",
        CancelledAt => "您在「{step}」步驟關閉了 Facebook 視窗。",
        Cancelled => "您在完成前關閉了 Facebook 視窗。",
        CancelledHelp => "尚未建立任何內容。準備好後，點選按鈕重新開始。",
        MetaError => "Facebook 回報了一個錯誤：{message}",
        FlowCoexNotEligible => "這個號碼無法在保留 WhatsApp Business 應用程式的同時連接。請改用符合資格的號碼，或將它作為新號碼連接。",
        FlowCoexMarketing => "此帳戶已使用行銷訊息功能，無法與 WhatsApp Business 應用程式同時使用。請改為作為新號碼連接。",
        FlowAppTooOld => "請先將手機上的 WhatsApp Business 應用程式更新至 2.24.17 或更新版本，然後再試一次。",
        FlowSharedWithPartner => "這個 WhatsApp 帳戶已連接其他服務商。請先在 WhatsApp Business 應用程式中中斷連線，然後再試一次。",
        FlowDisconnectWait => "請先中斷此號碼與其他服務商的連線，等待 15 分鐘後再試一次。",
        FlowAlreadyShared => "這個 WhatsApp 帳戶已被分享。請選擇其他帳戶，或請網站團隊檢查現有連線。",
        FlowBusinessVerification => "Meta 要求先完成商家驗證。請在 Meta Business Suite 中完成商家驗證後再試一次。",
        FlowVerificationElsewhere => "商家驗證已透過另一家合作夥伴發起。請在該處完成驗證或等待其結束後再試一次。",
        FlowTooManyAttempts => "嘗試次數過多。請等待幾個小時後再試一次。",
        FlowUnknown => "Facebook 視窗中發生問題。請再試一次；若再次發生，請憑下方的參考編號聯絡客服。",
        SupportReference => "客服參考編號：{reference}",
        NotAuthorized => "Facebook 未授予所需權限。請重試並接受授權。",
        TimedOut => "Facebook 視窗沒有回傳結果。",
        TimedOutHelp => {
            "如果反覆發生，可能是本網站未在 Facebook 應用程式設定中獲准。請告知網站團隊。"
        }
        PopupFailed => "無法開啟 Facebook 視窗。請重新整理頁面後重試。",
        InvalidFinish => "Facebook 已完成，但未提供帳戶資訊。請重試。",
        ProxyUnreachable => "暫時無法連線到伺服器。",
        ProxyUnreachableHelp => "您的帳戶資訊已保留在此頁面。請檢查網路連線，然後重試。",
        Refused => "伺服器拒絕了請求：{message}",
        PaymentPending => "您的 WhatsApp Business 帳戶已建立，但用於傳送訊息的付款方式尚未設定。",
        NumberMissing => {
            "您的 WhatsApp Business 帳戶已建立，但沒有電話號碼。請點選按鈕重新開始並新增號碼。"
        }
        NumberBlocked => "Meta 已封鎖此電話號碼，無法連結。",
        NumberDeleted => "此電話號碼已從您的 WhatsApp Business 帳戶中移除。",
        PartnerRemoved => "您的服務供應商對您 WhatsApp Business 帳戶的存取權限已被移除。",
        AppUninstalled => "您的服務供應商的應用程式已從您的 WhatsApp Business 帳戶中移除。",
        WabaBanned => "Meta 已停用此 WhatsApp Business 帳戶，無法連結。",
        WabaBanScheduled => "Meta 計劃停用此 WhatsApp Business 帳戶。",
        WabaRejected => "此 WhatsApp Business 帳戶未通過 Meta 的審查。",
        WabaDeleted => "此 WhatsApp Business 帳戶已被刪除。",
        SetupStopped => "您的號碼設定未能完成。",
        ServiceUnavailable => "連結 WhatsApp 號碼的服務暫時沒有回應。",
        ProviderFinishes => "已通知您的服務供應商，服務供應商將完成設定，您無需進行任何操作。",
        RetryOnceFixed => "問題解決後，您也可以點選「重試」。",
        ProviderToldStartAgain => "已通知您的服務供應商。準備好後，點選按鈕重新開始。",
        ProviderToldNothing => "已通知您的服務供應商，如有需要，服務供應商會與您聯絡。",
        TryLater => "請幾分鐘後重試。",
        Deregistered => "您的服務供應商已將此號碼從 WhatsApp Business Platform 中斷連結。",
        DeregisteredHelp => "如需重新連結，請聯絡您的服務供應商。",
        OnboardingFailed => "有一個步驟未成功：{message}",
        UpstreamRequest => "聯絡服務供應商時，請提供參考編號 {request}。",
        SessionMissing => "此頁面只能透過您的專屬註冊連結使用。",
        SessionMissingHelp => "請向引導您來到這裡的商家索取連結。",
        SessionInvalid => "此註冊連結已失效。",
        AskNewLink => "請聯絡傳送此連結給您的商家，索取新的連結。",
        ModeNotAllowed => "您的註冊連結不支援這種連結方式。",
        SessionExhausted => "此註冊連結的使用次數已達上限。",
        CustomerRefMismatch => "此註冊頁面設定有誤，因此未儲存任何內容。",
        CustomerRefMismatchHelp => "請告知您的服務供應商：他們需要修正頁面或傳送新的連結給您。",
        AlreadyOnboarded => "此 WhatsApp Business 帳戶和號碼已為另一位客戶連結。",
        AlreadyOnboardedHelp => {
            "您可以點選按鈕，使用其他號碼重新開始；如有疑問，請聯絡您的服務供應商。"
        }
        RegisterLimit => "此號碼已達到 Meta 的註冊次數上限，可在 {when} 之後重試。",
        TryAgain => "重試",
        ProgressTitle => "進度",
        StepBound => "已連結 WhatsApp Business 帳戶",
        StepPayment => "已綁定付款方式",
        StepRegistered => "已註冊電話號碼",
        StepConnected => "號碼已連結",
        StepDone => "已完成",
        StepActive => "進行中",
        StepWaiting => "等待中",
        StepFailed => "需要處理",
        WabaLabel => "WhatsApp Business 帳戶 ID",
        NumberLabel => "電話號碼 ID",
        NumberShownLabel => "電話號碼",
        VerifiedNameLabel => "商家名稱",
        StepBusinessAccountSelection => "選擇企業資產組合",
        StepWabaPhoneProfilePicker => "選擇 WhatsApp Business 帳戶",
        StepWhatsAppBusinessProfileSetup => "設定商家檔案",
        StepPhoneNumberSetup => "新增電話號碼",
        StepPhoneNumberVerification => "驗證電話號碼",
        StepPermissions => "檢視權限",
        PinAsk => "還差一步：此號碼已設定雙重驗證 PIN 碼，WhatsApp 需要它才能連接此號碼。",
        PinLabel => "雙重驗證 PIN 碼",
        PinHint => "請輸入在 WhatsApp 中為此號碼設定的 6 位數 PIN 碼。如果您不知道，可以在 WhatsApp 管理工具中重設。",
        PinSubmit => "傳送 PIN 碼",
        PinSending => "正在驗證您的 PIN 碼…",
        PinInvalid => "請輸入剛好 6 位數字（0 到 9）。",
        PinWrong => "此 PIN 碼不是這個號碼的雙重驗證 PIN 碼。",
        PinWrongHelp => "請檢查後再試一次。每次輸入錯誤都會計入鎖定次數，如果您不確定，請先在 WhatsApp 管理工具中重設。",
        PinNotSent => "暫時無法傳送您的 PIN 碼。請稍候片刻再傳送。",
        PinLocked => "嘗試的錯誤 PIN 碼過多，WhatsApp 已暫時鎖定此號碼的 PIN 碼驗證。",
        PinLockedHelp => "已通知您的服務供應商。請等待一段時間（通常為幾個小時）後再試；如果不確定 PIN 碼，請先在 WhatsApp 管理工具中重設。",
        AnotherNumber => "在此期間，您可以連結其他號碼。",
        ReturnTo => "返回 {partner}",
        ReturnBack => "返回上一個網站",
        ConnectingToFor => "正在為 {customer} 將 WhatsApp 連接到 {partner}",
        ConnectingTo => "正在將 WhatsApp 連接到 {partner}",
        ConnectingFor => "正在為 {customer} 連接 WhatsApp",
    }
}

#[cfg_attr(
    all(target_arch = "wasm32", not(feature = "all-languages")),
    allow(dead_code)
)]
fn vi(m: Msg) -> &'static str {
    use Msg::*;
    match m {
        Title => "Kết nối WhatsApp",
        Intro => "Kết nối số WhatsApp của doanh nghiệp bạn. Việc này mất khoảng năm phút trong một cửa sổ Facebook.",
        SandboxBadge => "Chế độ thử nghiệm (sandbox): không có gì ở đây là thật",
        Language => "Ngôn ngữ",
        LaunchStandard => "Kết nối số mới",
        ExplainStandard => "Dùng một số chưa có trên WhatsApp, cho WhatsApp Business Platform.",
        LaunchCoexistence => "Tiếp tục dùng ứng dụng WhatsApp Business",
        ExplainCoexistence => "Kết nối số bạn đang dùng trong ứng dụng WhatsApp Business và vẫn tiếp tục dùng ứng dụng.",
        LoadingSdk => "Đang tải Facebook…",
        SdkBlocked => "Không thể tải Facebook trong trình duyệt này.",
        SdkBlockedHelp => "Trình chặn quảng cáo hoặc chống theo dõi có thể đang chặn nó. Hãy cho phép facebook.net trên trang này rồi thử lại.",
        Ready => "Hãy chọn cách kết nối số của bạn.",
        InPopup => "Hãy tiếp tục trong cửa sổ Facebook.",
        InPopupHelp => "Không thấy cửa sổ? Hãy cho phép cửa sổ bật lên trên trang này rồi bấm nút lại.",
        Submitting => "Đang lưu tài khoản của bạn…",
        Pending => "Đang thiết lập số của bạn. Trang này tự cập nhật.",
        Connected => "Số WhatsApp của bạn đã được kết nối.",
        CancelledAt => "Bạn đã đóng cửa sổ Facebook ở bước “{step}”.",
        Cancelled => "Bạn đã đóng cửa sổ Facebook trước khi hoàn tất.",
        CancelledHelp => "Chưa có gì được tạo. Khi sẵn sàng, hãy bấm một nút để bắt đầu lại.",
        MetaError => "Facebook báo lỗi: {message}",
        FlowCoexNotEligible => "Không thể kết nối số này mà vẫn giữ ứng dụng WhatsApp Business. Hãy dùng số đủ điều kiện, hoặc kết nối nó như một số mới.",
        FlowCoexMarketing => "Tài khoản này đang dùng Tin nhắn tiếp thị, không thể dùng cùng ứng dụng WhatsApp Business. Hãy kết nối như một số mới.",
        FlowAppTooOld => "Hãy cập nhật ứng dụng WhatsApp Business trên điện thoại lên phiên bản 2.24.17 trở lên, rồi thử lại.",
        FlowSharedWithPartner => "Tài khoản WhatsApp này đang kết nối với nhà cung cấp khác. Hãy ngắt kết nối trong ứng dụng WhatsApp Business, rồi thử lại.",
        FlowDisconnectWait => "Hãy ngắt kết nối số này khỏi nhà cung cấp khác, đợi 15 phút, rồi thử lại.",
        FlowAlreadyShared => "Tài khoản WhatsApp này đã được chia sẻ. Hãy chọn tài khoản khác, hoặc nhờ đội ngũ của trang kiểm tra kết nối hiện có.",
        FlowBusinessVerification => "Meta yêu cầu xác minh doanh nghiệp trước. Hãy hoàn tất xác minh doanh nghiệp trong Meta Business Suite, rồi thử lại.",
        FlowVerificationElsewhere => "Việc xác minh doanh nghiệp đã được bắt đầu với một đối tác khác. Hãy hoàn tất ở đó hoặc đợi nó kết thúc, rồi thử lại.",
        FlowTooManyAttempts => "Bạn đã thử quá nhiều lần. Hãy đợi vài giờ rồi thử lại.",
        FlowUnknown => "Đã xảy ra sự cố trong cửa sổ Facebook. Hãy thử lại; nếu vẫn lặp lại, hãy liên hệ bộ phận hỗ trợ kèm mã tham chiếu bên dưới.",
        SupportReference => "Mã tham chiếu hỗ trợ: {reference}",
        NotAuthorized => "Facebook chưa cấp các quyền cần thiết. Vui lòng thử lại và chấp nhận các quyền.",
        TimedOut => "Cửa sổ Facebook không gửi lại kết quả.",
        TimedOutHelp => "Nếu việc này lặp lại, có thể trang này chưa được cho phép trong cài đặt ứng dụng Facebook. Hãy báo cho đội ngũ của trang.",
        PopupFailed => "Không mở được cửa sổ Facebook. Vui lòng tải lại trang rồi thử lại.",
        InvalidFinish => "Facebook đã hoàn tất nhưng không gửi thông tin tài khoản. Vui lòng thử lại.",
        ProxyUnreachable => "Hiện không kết nối được máy chủ.",
        ProxyUnreachableHelp => "Thông tin tài khoản của bạn vẫn được giữ trên trang này. Hãy kiểm tra kết nối rồi thử lại.",
        Refused => "Máy chủ từ chối yêu cầu: {message}",
        PaymentPending => "Tài khoản WhatsApp Business của bạn đã được tạo, nhưng phương thức thanh toán cho tin nhắn chưa được thiết lập.",
        NumberMissing => "Tài khoản WhatsApp Business của bạn đã được tạo nhưng chưa có số điện thoại. Hãy bấm một nút để bắt đầu lại và thêm số.",
        NumberBlocked => "Meta đã chặn số điện thoại này nên không thể kết nối.",
        NumberDeleted => "Số điện thoại này đã bị gỡ khỏi tài khoản WhatsApp Business của bạn.",
        PartnerRemoved => "Quyền truy cập của nhà cung cấp vào tài khoản WhatsApp Business của bạn đã bị gỡ.",
        AppUninstalled => "Ứng dụng của nhà cung cấp đã bị gỡ khỏi tài khoản WhatsApp Business của bạn.",
        WabaBanned => "Meta đã vô hiệu hóa tài khoản WhatsApp Business này nên không thể kết nối.",
        WabaBanScheduled => "Meta dự định vô hiệu hóa tài khoản WhatsApp Business này.",
        WabaRejected => "Tài khoản WhatsApp Business này không được Meta phê duyệt.",
        WabaDeleted => "Tài khoản WhatsApp Business này đã bị xóa.",
        SetupStopped => "Không thể hoàn tất việc thiết lập số của bạn.",
        ServiceUnavailable => "Dịch vụ kết nối số WhatsApp hiện không phản hồi.",
        ProviderFinishes => "Nhà cung cấp của bạn đã được thông báo và sẽ hoàn tất việc thiết lập; bạn không cần làm gì cả.",
        RetryOnceFixed => "Khi sự cố đã được khắc phục, bạn cũng có thể bấm Thử lại.",
        ProviderToldStartAgain => "Nhà cung cấp của bạn đã được thông báo. Khi sẵn sàng, hãy bấm một nút để bắt đầu lại.",
        ProviderToldNothing => "Nhà cung cấp của bạn đã được thông báo và sẽ liên hệ với bạn nếu cần.",
        TryLater => "Vui lòng thử lại sau vài phút.",
        Deregistered => "Nhà cung cấp của bạn đã ngắt kết nối số này khỏi WhatsApp Business Platform.",
        DeregisteredHelp => "Nếu bạn muốn kết nối lại, hãy liên hệ nhà cung cấp của bạn.",
        OnboardingFailed => "Một bước chưa thành công: {message}",
        UpstreamRequest => "Nếu liên hệ nhà cung cấp, hãy cung cấp mã tham chiếu {request}.",
        SessionMissing => "Trang này chỉ dùng được với liên kết đăng ký dành riêng cho bạn.",
        SessionMissingHelp => "Vui lòng liên hệ doanh nghiệp đã đưa bạn đến đây để nhận liên kết.",
        SessionInvalid => "Liên kết đăng ký này không còn hiệu lực.",
        AskNewLink => "Vui lòng liên hệ doanh nghiệp đã gửi liên kết này cho bạn để nhận liên kết mới.",
        ModeNotAllowed => "Liên kết đăng ký của bạn không cho phép cách kết nối này.",
        SessionExhausted => "Liên kết đăng ký này đã được dùng hết số lần cho phép.",
        CustomerRefMismatch => "Trang đăng ký này chưa được thiết lập đúng nên chưa có gì được lưu.",
        CustomerRefMismatchHelp => "Vui lòng báo cho nhà cung cấp của bạn: họ cần sửa trang hoặc gửi cho bạn liên kết mới.",
        AlreadyOnboarded => "Tài khoản WhatsApp Business và số này đã được kết nối cho một khách hàng khác.",
        AlreadyOnboardedHelp => "Bạn có thể bấm một nút để bắt đầu lại với số khác, hoặc hỏi nhà cung cấp nếu thấy có gì sai.",
        RegisterLimit => "Số này đã đạt giới hạn số lần đăng ký của Meta. Có thể thử lại sau {when}.",
        TryAgain => "Thử lại",
        ProgressTitle => "Tiến độ",
        StepBound => "Đã liên kết tài khoản WhatsApp Business",
        StepPayment => "Đã gắn phương thức thanh toán",
        StepRegistered => "Đã đăng ký số điện thoại",
        StepConnected => "Số đã được kết nối",
        StepDone => "đã xong",
        StepActive => "đang thực hiện",
        StepWaiting => "đang chờ",
        StepFailed => "cần xử lý",
        WabaLabel => "ID tài khoản WhatsApp Business",
        NumberLabel => "ID số điện thoại",
        NumberShownLabel => "Số điện thoại",
        VerifiedNameLabel => "Tên doanh nghiệp",
        StepBusinessAccountSelection => "chọn danh mục doanh nghiệp",
        StepWabaPhoneProfilePicker => "chọn tài khoản WhatsApp Business",
        StepWhatsAppBusinessProfileSetup => "thiết lập hồ sơ doanh nghiệp",
        StepPhoneNumberSetup => "thêm số điện thoại",
        StepPhoneNumberVerification => "xác minh số điện thoại",
        StepPermissions => "xem lại quyền",
        PinAsk => "Còn một bước: số này đã có mã PIN xác minh hai bước, và WhatsApp cần mã này để kết nối số.",
        PinLabel => "Mã PIN xác minh hai bước",
        PinHint => "Nhập mã PIN 6 chữ số đã đặt cho số này trong WhatsApp. Nếu bạn không biết, bạn có thể đặt lại mã trong WhatsApp Manager.",
        PinSubmit => "Gửi mã PIN",
        PinSending => "Đang kiểm tra mã PIN của bạn…",
        PinInvalid => "Nhập đúng 6 chữ số (0 đến 9).",
        PinWrong => "Mã PIN đó không phải là mã PIN xác minh hai bước của số này.",
        PinWrongHelp => "Hãy kiểm tra và thử lại. Mỗi lần nhập sai đều bị tính vào giới hạn khóa, nên nếu không chắc chắn, hãy đặt lại mã trong WhatsApp Manager trước.",
        PinNotSent => "Hiện chưa gửi được mã PIN của bạn. Vui lòng đợi một lát rồi gửi lại.",
        PinLocked => "Đã thử quá nhiều mã PIN sai, nên WhatsApp đã tạm khóa việc kiểm tra mã PIN của số này.",
        PinLockedHelp => "Nhà cung cấp của bạn đã được thông báo. Vui lòng đợi (thường là vài giờ) trước khi thử lại, và đặt lại mã PIN trong WhatsApp Manager nếu bạn không chắc chắn.",
        AnotherNumber => "Trong lúc chờ, bạn có thể kết nối một số khác.",
        ReturnTo => "Quay lại {partner}",
        ReturnBack => "Quay lại trang trước",
        ConnectingToFor => "Đang kết nối WhatsApp với {partner} cho {customer}",
        ConnectingTo => "Đang kết nối WhatsApp với {partner}",
        ConnectingFor => "Đang kết nối WhatsApp cho {customer}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(s: &str) -> Vec<&str> {
        let mut out: Vec<&str> = s
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        out.sort_unstable();
        out
    }

    #[test]
    fn every_language_has_every_key_with_the_same_placeholders() {
        for &msg in Msg::ALL {
            let english = placeholders(Locale::En.t(msg));
            for locale in Locale::ALL {
                let text = locale.t(msg);
                assert!(!text.trim().is_empty(), "{locale:?} {msg:?} is empty");
                assert_eq!(placeholders(text), english, "{locale:?} {msg:?}");
            }
        }
    }

    #[test]
    #[cfg(not(target_arch = "wasm32"))]
    fn the_delivered_languages_are_the_catalogue() {
        for locale in [Locale::ZhHans, Locale::ZhHant, Locale::Vi] {
            let path = format!(
                "{}/static/i18n/{}.json",
                env!("CARGO_MANIFEST_DIR"),
                locale.tag()
            );
            let want = serde_json::to_string_pretty(&locale.catalogue()).unwrap() + "\n";
            if std::env::var_os("UPDATE_I18N").is_some() {
                std::fs::write(&path, &want).unwrap();
            }
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                have == want,
                "{path} is not the catalogue: UPDATE_I18N=1 cargo test -p wa-signup i18n"
            );
            let back: Vec<String> = serde_json::from_str(&have).unwrap();
            assert!(deliver(locale, back));
        }
        assert!(!deliver(Locale::Vi, vec!["too short".to_owned()]));
    }

    #[test]
    fn other_languages_are_translated_not_copied() {
        let mut same = 0;
        for &msg in Msg::ALL {
            for locale in [Locale::ZhHans, Locale::ZhHant, Locale::Vi] {
                if locale.t(msg) == Locale::En.t(msg) {
                    same += 1;
                }
            }
        }
        assert_eq!(same, 0, "sentences left in English");
    }

    #[test]
    fn tags_negotiate_to_the_right_script() {
        let cases = [
            ("zh-TW", Locale::ZhHant),
            ("zh-HK", Locale::ZhHant),
            ("zh-Hant-HK", Locale::ZhHant),
            ("zh_CN", Locale::ZhHans),
            ("zh", Locale::ZhHans),
            ("zh-Hans-TW", Locale::ZhHans),
            ("vi-VN", Locale::Vi),
            ("en-GB", Locale::En),
        ];
        for (tag, want) in cases {
            assert_eq!(Locale::from_tag(tag), Some(want), "{tag}");
        }
        assert_eq!(Locale::from_tag("fr-FR"), None);
        assert_eq!(Locale::negotiate(["fr", "de", "vi"]), Locale::Vi);
        assert_eq!(Locale::negotiate(["fr"]), Locale::En);
        assert_eq!(Locale::negotiate([]), Locale::En);
    }

    #[test]
    fn connecting_names_whom_it_knows() {
        let en = Locale::En;
        assert_eq!(
            en.connecting(Some("Acme"), Some("Kim's Cakes")).as_deref(),
            Some("Connecting WhatsApp to Acme for Kim's Cakes")
        );
        assert_eq!(
            en.connecting(Some("Acme"), None).as_deref(),
            Some("Connecting WhatsApp to Acme")
        );
        assert_eq!(
            en.connecting(None, Some("Kim")).as_deref(),
            Some("Connecting WhatsApp for Kim")
        );
        assert_eq!(en.connecting(None, None), None);
        for locale in Locale::ALL {
            let text = locale.connecting(Some("Acme"), Some("Kim")).unwrap();
            assert!(
                text.contains("Acme") && text.contains("Kim") && !text.contains('{'),
                "{text}"
            );
        }
    }

    #[test]
    fn fill_replaces_named_placeholders() {
        let text = Locale::En.fill(Msg::CancelledAt, &[("step", "add a phone number")]);
        assert_eq!(
            text,
            "You closed the Facebook window at the step “add a phone number”."
        );
    }

    #[test]
    fn the_protocol_spelling_maps_both_ways() {
        for locale in Locale::ALL {
            let wire = wire::Locale::from(locale);
            assert_eq!(Locale::from(wire), locale);
            assert_eq!(locale.tag(), wire.as_str());
            assert_eq!(Locale::from_tag(wire.as_str()), Some(locale));
        }
        assert_eq!(wire::Locale::ALL.len(), Locale::ALL.len());
    }

    #[test]
    fn the_page_s_choice_beats_the_session_s_which_beats_the_browser_s() {
        let browser = ["vi-VN", "en"];
        let session = Some(wire::Locale::ZhHant);
        assert_eq!(
            Locale::initial(Some("zh-CN"), session, browser),
            Locale::ZhHans
        );
        assert_eq!(Locale::initial(None, session, browser), Locale::ZhHant);
        // A tag the widget does not speak is no choice: the session's language applies.
        assert_eq!(
            Locale::initial(Some("fr"), session, browser),
            Locale::ZhHant
        );
        assert_eq!(Locale::initial(None, None, browser), Locale::Vi);
        assert_eq!(Locale::initial(Some("fr"), None, ["de"]), Locale::En);
    }
}
