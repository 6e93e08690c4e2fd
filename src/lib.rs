//! WhatsApp Embedded Signup through YCloud: the browser app.
//!
//! `protocol` is pure Rust (no JS types) and runs natively in tests; `browser` is the only
//! module that touches JavaScript; `components` are the Leptos views.

pub mod browser;
pub mod components;
pub mod protocol;

/// Mounts the standalone onboarding page on `<body>`.
pub fn mount_standalone() {
    leptos::mount::mount_to_body(components::Widget);
}
