//! Entry point of the bundle: mount a widget on every `[data-wa-signup]` element (the
//! standalone page has one; partners' pages have theirs).

fn main() {
    wa_signup::mount::auto_mount(wasm_bindgen::JsValue::UNDEFINED);
}
