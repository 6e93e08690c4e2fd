//! The widget's element renderer (`components::tree`) in a real document: what it draws,
//! and that drawing again changes only what differs, keeping the elements themselves.
#![cfg(target_arch = "wasm32")]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use leptos::tachys::view::{Mountable, Render};
use wa_signup::components::tree::{el, Node};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn container() -> web_sys::Element {
    let document = web_sys::window().unwrap().document().unwrap();
    let div = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    div
}

fn status(state: &str, lines: &[&str], retry: bool) -> Node {
    el("div", &[("class", "wa-status"), ("role", "status")])
        .attr("data-state", state.to_owned())
        .flag("hidden", lines.is_empty())
        .kids(lines.iter().map(|l| el("p", &[]).text(l.to_string())))
        .kids(retry.then(|| el("button", &[("type", "button")]).text("Try again")))
}

#[wasm_bindgen_test]
fn draws_the_description_and_updates_only_what_differs() {
    let parent = container();
    let mut drawn = status("ready", &["One."], false).build();
    drawn.mount(&parent, None);
    assert_eq!(
        parent.inner_html(),
        r#"<div class="wa-status" role="status" data-state="ready"><p>One.</p></div>"#
    );
    let region = parent.first_element_child().unwrap();
    let first = region.first_child().unwrap();
    let first_text = first.first_child().unwrap();

    // Another state, a second line and a button: the same region, the same first line and
    // text node, its text changed in place.
    status("failed", &["Two.", "Three."], true).rebuild(&mut drawn);
    assert_eq!(
        parent.inner_html(),
        r#"<div class="wa-status" role="status" data-state="failed"><p>Two.</p><p>Three.</p><button type="button">Try again</button></div>"#
    );
    assert!(parent
        .first_element_child()
        .unwrap()
        .is_same_node(Some(&region)));
    assert!(region.first_child().unwrap().is_same_node(Some(&first)));
    assert!(first.first_child().unwrap().is_same_node(Some(&first_text)));

    // Fewer children, a boolean attribute on: the rest removed, the attribute added.
    status("loading", &[], false).rebuild(&mut drawn);
    assert_eq!(
        parent.inner_html(),
        r#"<div class="wa-status" role="status" data-state="loading" hidden=""></div>"#
    );
    // And off again: removed.
    status("ready", &["Back."], false).rebuild(&mut drawn);
    assert!(!region.has_attribute("hidden"));

    drawn.unmount();
    assert_eq!(parent.inner_html(), "");
}

#[wasm_bindgen_test]
fn another_tag_is_a_new_element_in_the_same_place() {
    let parent = container();
    let mut drawn = el("section", &[])
        .kids([el("p", &[]).text("a"), el("p", &[]).text("b")])
        .build();
    drawn.mount(&parent, None);
    let section = parent.first_element_child().unwrap();
    let second = section.last_element_child().unwrap();
    el("section", &[])
        .kids([el("h2", &[]).text("a"), el("p", &[]).text("b")])
        .rebuild(&mut drawn);
    assert_eq!(section.inner_html(), "<h2>a</h2><p>b</p>");
    assert!(section
        .last_element_child()
        .unwrap()
        .is_same_node(Some(&second)));
}

#[wasm_bindgen_test]
fn a_click_calls_the_handler_of_the_latest_drawing() {
    let parent = container();
    let calls = Arc::new(AtomicU32::new(0));
    let button = |add: u32| {
        let calls = calls.clone();
        el("button", &[("type", "button")]).on("click", move |_| {
            calls.fetch_add(add, Ordering::SeqCst);
        })
    };
    let mut drawn = button(1).build();
    drawn.mount(&parent, None);
    let element: web_sys::HtmlElement = parent.first_element_child().unwrap().unchecked_into();
    element.click();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    button(10).rebuild(&mut drawn);
    assert!(parent
        .first_element_child()
        .unwrap()
        .is_same_node(Some(&element)));
    element.click();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        11,
        "one listener, the new handler"
    );
}

#[wasm_bindgen_test]
fn svg_elements_are_in_the_svg_namespace() {
    let parent = container();
    let mut drawn = el("svg", &[("viewBox", "0 0 8 8")])
        .kids([el("path", &[("d", "M0,0h1v1h-1z")])])
        .build();
    drawn.mount(&parent, None);
    let svg = parent.first_element_child().unwrap();
    assert_eq!(
        svg.namespace_uri().as_deref(),
        Some("http://www.w3.org/2000/svg")
    );
    assert_eq!(
        svg.first_element_child()
            .unwrap()
            .namespace_uri()
            .as_deref(),
        Some("http://www.w3.org/2000/svg")
    );
}
