//! Who registers the numbers (`WHATSAPP_PROVIDER`): the one interface the pipeline holds.
//!
//! - [`Provider::YCloud`]: YCloud binds and registers as a BSP (`tp/bind`, `register`,
//!   `smb/bind`), the proxy's original path, unchanged;
//! - [`Provider::Meta`]: the proxy calls Meta's Cloud API itself with the customer's business
//!   token (`subscribed_apps`, `register` with a PIN, `smb_app_data`, `deregister`).
//!
//! The pipeline asks the provider which run an onboarding gets, how a pending number is
//! followed, and whether deregistering is possible; each provider's steps live in their own
//! file (`pipeline/steps.rs`, `pipeline/direct.rs`).

pub mod http;
pub mod meta;
pub mod ycloud;

use std::sync::Arc;

use crate::providers::meta::Direct;
use crate::providers::ycloud::Upstream;

/// Where the onboarding's calls go.
// One per process, inside the pipeline's `Arc`: boxing YCloud's client would save nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Provider {
    /// YCloud (or its sandbox fake).
    YCloud(Upstream),
    /// Meta's Cloud API directly (or its sandbox fake).
    Meta(Arc<Direct>),
}

impl Provider {
    /// The provider's name, as `WHATSAPP_PROVIDER` spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::YCloud(_) => "ycloud",
            Provider::Meta(_) => "meta",
        }
    }
}

impl From<Upstream> for Provider {
    fn from(upstream: Upstream) -> Self {
        Provider::YCloud(upstream)
    }
}

impl From<Direct> for Provider {
    fn from(direct: Direct) -> Self {
        Provider::Meta(Arc::new(direct))
    }
}
