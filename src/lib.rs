//! WhatsApp Embedded Signup through YCloud: the browser app.
//!
//! `protocol` is pure Rust (no JS types) and runs natively in tests; `browser` is the only
//! module that touches JavaScript; `api` is the only one that talks to the proxy; `embed`
//! reads a widget's options; `screen` holds what the customer sees and every decision about
//! it; `flow` drives one widget by those decisions; `components` are the Leptos views that
//! draw them; `mount`, on top, puts them on partners' pages.

pub mod api;
pub mod browser;
pub mod components;
pub mod embed;
pub mod flow;
pub mod i18n;
pub mod mount;
pub mod protocol;
pub mod screen;
