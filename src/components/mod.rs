//! Leptos views, one component per file.

mod first_message;
mod heading;
mod pin;
mod progress;
mod status;
mod widget;

pub use first_message::FirstMessage;
pub use pin::PinForm;
pub use progress::Progress;
pub use status::Status;
pub use widget::Widget;
