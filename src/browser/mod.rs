//! The only place that touches JavaScript: `JsCast`, `Closure`, `Reflect`, script tags.
pub mod messages;
