//! The only place that touches JavaScript: `JsCast`, `Closure`, `Reflect`, script tags.
pub mod dom;
pub mod embed;
pub mod http;
pub mod json;
pub mod messages;
pub mod sdk;
pub mod stream;
