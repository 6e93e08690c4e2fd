//! Leptos views, one component per file.

mod status;
mod widget;

pub use status::{Phase, Status};
pub use widget::Widget;
