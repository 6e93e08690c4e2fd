//! The key of every sentence the widget shows, in the order of `static/i18n/{tag}.json`.

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
    /// Meta's window could not open.
    PopupBlocked,
    /// What to do about it.
    PopupBlockedHelp,
    /// The page is open inside an app's browser.
    InAppBrowser,
    /// What to do about it.
    InAppBrowserHelp,
    /// The full-page sign-in's button.
    ContinueRedirect,
    /// Leaving for Facebook's sign-in page.
    Redirecting,
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
    /// Heading of a coexistence number's sync progress.
    SyncTitle,
    /// While the sync runs: keep the app open.
    SyncKeepOpen,
    /// The chat history's progress, `{percent}` from 0 to 100.
    SyncHistoryProgress,
    /// Contacts not copied yet.
    SyncContactsWaiting,
    /// Contacts copied.
    SyncContactsDone,
    /// Contacts could not be copied.
    SyncContactsNotCopied,
    /// The sync finished.
    SyncDone,
    /// The customer chose not to share the chat history.
    SyncDeclined,
    /// The chat history could not be copied.
    SyncHistoryNotCopied,
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
    /// After `connected`: send the number a first message (the link, the code) to see that it
    /// receives.
    FirstMessageAsk,
    /// The `wa.me` link's label: `{number}`.
    FirstMessageLink,
    /// The message the link fills in, in the customer's language (they may change it).
    FirstMessageText,
    /// The QR code's text alternative: `{number}`.
    FirstMessageQr,
    /// Until the message arrives.
    FirstMessageWaiting,
    /// The number received the message.
    FirstMessageArrived,
}
