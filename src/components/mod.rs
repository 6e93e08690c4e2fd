//! Leptos views, one component per file.

mod progress;
mod status;
mod widget;

pub use progress::Progress;
pub use status::Status;
pub use widget::Widget;
