//! The partner console: a partner's support and operations people see onboardings, create
//! and revoke links, watch webhook deliveries and the funnel, and check the setup, all
//! through the partner API with a cookie session (never a stored key). A bundle of its own,
//! served by the proxy at `/console`; the customer's widget does not carry any of it.

mod api;
mod app;
mod auth;
mod format;
mod i18n;
mod qr;
mod views;

fn main() {
    leptos::mount::mount_to_body(app::App);
}
