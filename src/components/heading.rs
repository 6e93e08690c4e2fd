//! Headings at the level the host page's outline needs.

use super::tree::{el, Node};

/// A heading of `level` (1 to 6; anything else reads as 6) with `class`, so the widget fits
/// the outline of the page it is in.
pub(super) fn heading(level: u8, class: &'static str) -> Node {
    let tag = match level {
        1 => "h1",
        2 => "h2",
        3 => "h3",
        4 => "h4",
        5 => "h5",
        _ => "h6",
    };
    el(tag, &[]).attr("class", class)
}
