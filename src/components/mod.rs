//! Leptos views, one part of the widget per file, drawn from data ([`tree::Node`]).

mod first_message;
mod heading;
mod pin;
mod progress;
mod status;
mod sync;
pub mod tree;
mod widget;

pub use widget::Widget;

use leptos::prelude::*;

use crate::flow::Flow;
use crate::i18n::Locale;
use tree::Node;

/// What every part of the widget draws from.
#[derive(Clone, Copy)]
struct Ctx {
    flow: Flow,
    /// The language shown.
    locale: RwSignal<Locale>,
    /// The language asked for (it may still be on its way).
    wanted: RwSignal<Locale>,
    /// The level of the widget's title.
    level: u8,
}

/// A part of the widget, drawn again whenever what `draw` read changes. Every part is this
/// one closure type, so its reactive rendering is compiled into the bundle once.
fn live(
    cx: Ctx,
    draw: fn(Ctx) -> Option<Node>,
) -> impl Fn() -> Option<Node> + Send + Sync + 'static {
    move || draw(cx)
}
