//! Headings at the level the host page's outline needs.

use leptos::prelude::*;

/// A heading of `level` (1 to 6; anything else reads as 6), so the widget fits the outline of
/// the page it is in.
pub(super) fn heading<T: IntoView + 'static>(
    level: u8,
    class: &'static str,
    text: impl Fn() -> T + Send + 'static,
) -> AnyView {
    match level {
        1 => view! { <h1 class=class>{text}</h1> }.into_any(),
        2 => view! { <h2 class=class>{text}</h2> }.into_any(),
        3 => view! { <h3 class=class>{text}</h3> }.into_any(),
        4 => view! { <h4 class=class>{text}</h4> }.into_any(),
        5 => view! { <h5 class=class>{text}</h5> }.into_any(),
        _ => view! { <h6 class=class>{text}</h6> }.into_any(),
    }
}
