//! The Embedded Signup protocol in pure Rust: origin check, session-info events,
//! `FB.login` options, the code/session correlator, and when the popup cannot work.
//!
//! Nothing here names a JavaScript type, so all of it runs and is tested natively; the
//! `browser` module feeds it strings and [`Json`] values built from what the browser parsed.

pub mod correlator;
pub mod events;
pub mod flow_errors;
pub mod json_de;
pub mod launch;
pub mod origin;
pub mod redirect;
pub mod sse;
pub mod widget_event;

pub use correlator::{Correlator, Failure, LoginResult, Outcome, Timeouts};
#[cfg(any(test, not(target_arch = "wasm32")))]
pub use events::parse_session_info;
pub use events::{
    session_info, Cancel, CancelStep, Finish, FinishKind, Json, ReportedError, SessionInfo,
    MESSAGE_TYPE,
};
pub use flow_errors::{support_reference, FlowErrorFamily};
pub use json_de::from_json;
pub use launch::{LaunchError, LaunchOptions};
pub use origin::{is_facebook_origin, OriginError, OriginPolicy};
pub use redirect::{in_app_browser, popup_blocked};
pub use widget_event::{WidgetEvent, SANDBOX_MARK};
