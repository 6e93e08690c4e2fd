//! Which provider the configuration picks (`WHATSAPP_PROVIDER`), built with its client (or
//! its sandbox fake): the one place a new provider is added to.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{Settings, UpstreamTuning, YCloudMode};
use crate::metrics::Metrics;
use crate::pipeline::Provider;
use crate::providers::graph::GraphClient;
use crate::providers::meta::{Direct, FakeMeta, MetaApi};
use crate::providers::ycloud::fake::FakeYCloud;
use crate::providers::ycloud::{Upstream, YCloudClient};
use crate::vault::Vault;

/// The provider the pipeline holds, as `settings` pick it: YCloud (its fake in sandbox mode),
/// or Meta's Cloud API (likewise) with the vault over `TOKEN_ENCRYPTION_KEY`; its calls are
/// counted in `metrics`.
///
/// # Errors
/// When a client cannot be built (TLS backend failure), or Meta's lacks `FB_APP_SECRET`.
pub fn from_settings(
    settings: &Settings,
    tuning: &UpstreamTuning,
    clock: &Clock,
    metrics: &Metrics,
) -> Result<Arc<dyn Provider>, String> {
    let Some(meta) = &settings.provider.meta else {
        return Ok(Arc::new(ycloud(settings, tuning, clock, metrics)?));
    };
    let api = match &settings.fb_app_secret {
        _ if settings.is_sandbox() => {
            tracing::warn!(
                "SANDBOX MODE with WHATSAPP_PROVIDER=meta: Meta's Cloud API is simulated \
                 in-process and nothing real is registered"
            );
            MetaApi::Sandbox(FakeMeta::new(tuning.sandbox_connect_after))
        }
        Some(secret) => MetaApi::Http(Box::new(
            GraphClient::new(
                settings.graph_base_url.clone(),
                settings.graph_version.clone(),
                settings.fb_app_id.clone(),
                secret.clone(),
                tuning,
            )?
            .with_metrics(metrics.clone()),
        )),
        // The settings refuse meta in live mode without FB_APP_SECRET.
        None => return Err("FB_APP_SECRET is missing".to_owned()),
    };
    if meta.ephemeral_key {
        tracing::warn!(
            "TOKEN_ENCRYPTION_KEY is not set: the sandbox seals tokens and PINs with a random \
             key, so what it stored cannot be read after a restart"
        );
    }
    tracing::info!("WHATSAPP_PROVIDER=meta: numbers are registered with Meta's Cloud API directly");
    Ok(Arc::new(Direct {
        api,
        vault: Vault::with_old_keys(&meta.token_key, &meta.old_keys),
        default_region: settings.provider.data_localization_region.clone(),
        app_id: settings.fb_app_id.clone(),
    }))
}

/// YCloud's client, or its fake in sandbox mode.
fn ycloud(
    settings: &Settings,
    tuning: &UpstreamTuning,
    clock: &Clock,
    metrics: &Metrics,
) -> Result<Upstream, String> {
    Ok(match &settings.ycloud {
        YCloudMode::Sandbox => {
            tracing::warn!(
                "SANDBOX MODE (SANDBOX=true or --sandbox): YCloud and the Facebook SDK are \
                 simulated in-process and nothing real is bound or registered"
            );
            if settings.sandbox_ignores_api_key {
                tracing::warn!(
                    "YCLOUD_API_KEY is set but not used: sandbox mode never calls YCloud"
                );
            }
            Upstream::Sandbox(FakeYCloud::new(tuning.sandbox_connect_after))
        }
        // Only with `WHATSAPP_PROVIDER=meta`, which does not come here.
        YCloudMode::Unused => Upstream::Sandbox(FakeYCloud::new(tuning.sandbox_connect_after)),
        YCloudMode::Live { api_key, base_url } => Upstream::Http(
            YCloudClient::new(
                base_url.clone(),
                api_key.clone(),
                tuning.clone(),
                clock.clone(),
            )?
            .with_metrics(metrics.clone()),
        ),
    })
}
