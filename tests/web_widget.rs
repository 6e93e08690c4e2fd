//! The widget mounted in headless Chromium.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

fn find(root: &web_sys::Element, testid: &str) -> HtmlElement {
    root.query_selector(&format!("[data-testid=\"{testid}\"]"))
        .unwrap()
        .unwrap_or_else(|| panic!("no [data-testid={testid}]"))
        .unchecked_into()
}

#[wasm_bindgen_test]
async fn clicking_a_launch_button_moves_the_status_on() {
    let document = web_sys::window().unwrap().document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let _handle = leptos::mount::mount_to(root.clone(), wa_signup::components::Widget);

    let status = find(&root, "status");
    assert_eq!(status.get_attribute("aria-live").as_deref(), Some("polite"));
    assert_eq!(status.get_attribute("data-state").as_deref(), Some("ready"));

    find(&root, "launch-standard").click();
    leptos::task::tick().await;
    assert_eq!(status.get_attribute("data-state").as_deref(), Some("in-popup"));
}
