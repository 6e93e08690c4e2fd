//! Headings at the level the host page's outline needs.

use leptos::html;
use leptos::prelude::*;

/// A heading of `level` (1 to 6; anything else reads as 6), so the widget fits the outline of
/// the page it is in.
///
/// One element whose tag is chosen at run time: a `view!` per level made six copies of the
/// heading's rendering code in the bundle for each caller.
pub(super) fn heading<T: IntoView + 'static>(
    level: u8,
    class: &'static str,
    text: impl Fn() -> T + Send + 'static,
) -> impl IntoView {
    let tag = match level {
        1 => "h1",
        2 => "h2",
        3 => "h3",
        4 => "h4",
        5 => "h5",
        _ => "h6",
    };
    html::custom(tag).class(class).child(text)
}
