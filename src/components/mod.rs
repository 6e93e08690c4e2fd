//! Leptos views, one component per file.

mod heading;
mod pin;
mod progress;
mod status;
mod sync;
mod widget;

pub use pin::PinForm;
pub use progress::Progress;
pub use status::Status;
pub use sync::SyncProgress;
pub use widget::Widget;
