//! Leptos views, one component per file.

mod first_message;
mod heading;
mod pin;
mod progress;
mod status;
mod sync;
mod widget;

pub use first_message::FirstMessage;
pub use pin::PinForm;
pub use progress::Progress;
pub use status::Status;
pub use sync::SyncProgress;
pub use widget::Widget;
