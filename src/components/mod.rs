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

use leptos::prelude::*;

use crate::i18n::{Locale, Msg};

/// The sentence `msg` in `locale`'s language, kept current. Every fixed sentence of the
/// views is this one closure type, so its rendering is compiled into the bundle once
/// rather than once per sentence.
fn text(locale: RwSignal<Locale>, msg: Msg) -> impl Fn() -> &'static str + Copy + Send + 'static {
    move || locale.get().t(msg)
}
