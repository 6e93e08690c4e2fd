//! The full-page sign-in (the redirect flow): when Meta's popup cannot open, the browser goes
//! to Meta's login dialog itself and comes back to the proxy's `/oauth/callback`.

use serde::{Deserialize, Serialize};

use crate::{Locale, Mode, SessionToken};

/// Name of the fragment parameter that carries a finished redirect flow's result back to the
/// page (`#wa-signup-result=<handle>`): a fragment never reaches a server or a `Referer`.
pub const RESULT_FRAGMENT: &str = "wa-signup-result";

/// Body of `POST /api/oauth/start`: the page asks for a `state` before leaving for Meta.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRedirect {
    /// The button's mode.
    pub mode: Mode,
    /// The page's onboarding session, under the same rules as `POST /api/onboardings`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionToken>,
    /// The page's language, for the proxy's own pages on the way back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
}

/// Answer of `POST /api/oauth/start`: where to send the browser, and the two values Meta
/// hands back unchanged. The page adds the Embedded Signup parameters itself (the same
/// `extras` as its popup).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectStarted {
    /// Meta's login dialog, `https://www.facebook.com/{graph_version}/dialog/oauth` (in
    /// sandbox mode the proxy's stand-in), without a query.
    pub dialog_url: String,
    /// `{PUBLIC_URL}/oauth/callback`: the dialog's `redirect_uri`, also sent with the code
    /// exchange (Meta refuses a different one).
    pub redirect_uri: String,
    /// Signed, single use, valid 30 minutes.
    pub state: String,
}

/// Body of `POST /api/oauth/result`: the handle the proxy put in the page's fragment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectResult {
    /// The fragment's value (single use, valid 10 minutes).
    pub result: String,
}
