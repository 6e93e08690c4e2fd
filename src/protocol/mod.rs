//! The Embedded Signup protocol in pure Rust: origin check, session-info events,
//! `FB.login` options and the code/session correlator.
//!
//! Nothing here names a JavaScript type, so all of it runs and is tested natively; the
//! `browser` module feeds it strings and JSON values.

pub mod correlator;
pub mod events;
pub mod launch;
pub mod origin;
pub mod widget_event;

pub use correlator::{Correlator, Failure, LoginResult, Outcome, Timeouts};
pub use events::{
    parse_session_info, Cancel, CancelStep, Finish, FinishKind, ReportedError, SessionInfo,
    MESSAGE_TYPE,
};
pub use launch::{LaunchError, LaunchOptions};
pub use origin::{is_facebook_origin, OriginError, OriginPolicy};
pub use widget_event::event_detail;
