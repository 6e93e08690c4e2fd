//! The thin proxy between the browser and YCloud: it holds the YCloud key, binds and
//! registers, and keeps the onboarding record.
//!
//! - [`clock`]: the one injectable clock.
//! - [`config`]: the environment, parsed once into [`config::Settings`].
//! - [`startup`]: [`startup::Application`] builds, binds and serves.
//! - [`routes`]: the HTTP API (docs/API.md) and the bundle.
//! - [`pipeline`]: the onboarding state machine, free of HTTP.
//! - [`ycloud`] / [`sandbox`]: the real YCloud client and its fake (in-process in sandbox
//!   mode, over HTTP as the `fake-ycloud` binary).
//! - [`store`]: the database.
//! - [`error`]: the one HTTP error type.
//! - [`webhook`]: YCloud webhook verification (an extractor), events, a signing helper.
//! - [`limits`]: what clients may ask of the proxy (timeouts, concurrency, rates).
//! - [`metrics`]: `GET /metrics`' counters and histograms, one registry per application.
//! - [`ownership`]: the ownership check of a sign-up, before anything is stored.
//! - [`graph`]: the Graph API's code exchange and WABA checks the ownership check asks.
//! - [`sessions`]: onboarding sessions, and who each onboarding is for.
//! - [`outbox`]: delivering partner events to the partner's webhook.
//! - [`provider`]: who registers the numbers (`WHATSAPP_PROVIDER`): YCloud or [`meta`],
//!   Meta's Cloud API directly, whose secrets at rest [`vault`] seals.
//! - [`upstream`]: what the YCloud and Graph clients share (capped body reads).

pub mod biz_app;
pub mod clock;
pub mod config;
pub mod error;
pub mod graph;
pub mod limits;
pub mod meta;
pub mod metrics;
pub mod outbox;
pub mod ownership;
pub mod pipeline;
pub mod provider;
pub mod routes;
pub mod sandbox;
pub mod sessions;
pub mod startup;
pub mod store;
pub mod upstream;
pub mod vault;
pub mod webhook;
pub mod ycloud;
