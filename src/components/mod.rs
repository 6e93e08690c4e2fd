//! Leptos views, one component per file.

mod heading;
mod pin;
mod progress;
mod status;
mod widget;

pub use pin::PinForm;
pub use progress::Progress;
pub use status::Status;
pub use widget::Widget;
