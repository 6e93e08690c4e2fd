//! The thin proxy between the browser and the provider (YCloud, or Meta's Cloud API
//! directly): it holds the secrets, binds and registers, and keeps the onboarding record.
//!
//! - [`clock`]: the one injectable clock, and how times are written.
//! - [`config`]: the environment, parsed once into [`config::Settings`].
//! - [`startup`]: [`startup::Application`] builds, binds and serves.
//! - [`routes`]: the HTTP API (docs/API.md), the bundle, and what clients may ask of the
//!   proxy ([`routes::limits`]: timeouts, concurrency, rates).
//! - [`pipeline`]: the onboarding state machine, free of HTTP.
//! - [`providers`]: who registers the numbers (`WHATSAPP_PROVIDER`), one folder each:
//!   [`providers::ycloud`] (YCloud as a BSP, its webhooks and its fake) and
//!   [`providers::meta`] (Meta's Cloud API directly, the Graph API, Meta's webhooks and its
//!   fake); [`providers::http`] is what their clients share.
//! - [`store`]: the database.
//! - [`error`]: the one HTTP error type.
//! - [`metrics`]: `GET /metrics`' counters and histograms, one registry per application.
//! - [`ownership`]: the ownership check of a sign-up, before anything is stored.
//! - [`sessions`]: onboarding sessions, and who each onboarding is for.
//! - [`outbox`]: delivering partner events to the partner's webhook.
//! - [`vault`]: secrets at rest, sealed.
//! - [`redirect`]: the full-page sign-in when Meta's popup cannot open.
//! - [`rules`]: what a blocked number, a removed account or an enforcement means, for
//!   every provider's signals.
//! - [`budget`]: Meta's register and deregister budgets, and their sentences.
//! - [`biz_app`]: which path a sign-up takes (never register a Business app number).

pub mod biz_app;
pub mod budget;
pub mod clock;
pub mod config;
pub mod error;
pub mod metrics;
pub mod objects;
pub mod outbox;
pub mod ownership;
pub mod pipeline;
pub mod providers;
pub mod redirect;
pub mod routes;
pub mod rules;
pub mod sessions;
pub mod startup;
pub mod store;
pub mod vault;
