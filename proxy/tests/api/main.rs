//! Black-box tests of the proxy: real HTTP, a wiremock YCloud (or the `fake-ycloud` binary),
//! a fresh SQLite file each.

mod bad_input;
mod binary;
mod conformance;
mod console;
mod disconnects;
mod failures;
mod fake_ycloud;
mod foundation;
mod health;
mod helpers;
mod instances;
mod lifecycle;
mod limits;
mod meta;
mod metrics;
mod onboardings;
mod openapi_conformance;
mod openapi_document;
mod partner;
mod postgres;
mod prefill;
mod reauthorize;
mod redirect;
mod reported;
mod resume;
mod secrets;
mod sessions;
mod soak;
mod start_over;
mod sync;
mod upstreams;
mod verification;
mod webhooks;
