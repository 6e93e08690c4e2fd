//! What the partner console's setup check (`GET /api/partner/setup`) says of the settings:
//! which are set, which the mode and provider need, and the webhook URLs to give each
//! provider. Worked out once at start-up: the settings do not change.

use super::{Settings, WhatsappProvider, YCloudMode};

/// What `GET /api/partner/setup` says of `settings` (everything but the last delivery,
/// read at each request). Worked out once at start-up: the settings do not change.
pub fn setup_report(settings: &Settings) -> wire::Setup {
    let sandbox = settings.is_sandbox();
    let live = !sandbox;
    let ycloud = settings.provider.provider == WhatsappProvider::YCloud;
    let meta = !ycloud;
    let base = settings
        .public_url
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let setting = |name: &str, present: bool, needed: bool| wire::SetupSetting {
        name: name.to_owned(),
        present,
        needed,
    };
    let webhook = settings.partner_webhook.is_some();
    wire::Setup {
        mode: match sandbox {
            true => wire::ProxyMode::Sandbox,
            false => wire::ProxyMode::Live,
        },
        provider: settings.provider.provider.as_str().to_owned(),
        public_url: settings.public_url.as_str().to_owned(),
        ycloud_webhook_url: format!("{base}/webhooks/ycloud"),
        meta_webhook_url: format!("{base}/webhooks/meta"),
        settings: vec![
            setting(
                "YCLOUD_API_KEY",
                matches!(settings.ycloud, YCloudMode::Live { .. }),
                live && ycloud,
            ),
            setting(
                "YCLOUD_WEBHOOK_SECRET",
                settings.webhook_secret.is_some(),
                live && ycloud,
            ),
            setting("FB_APP_ID", !settings.fb_app_id.is_empty(), live),
            setting("FB_CONFIG_ID", !settings.fb_config_id.is_empty(), live),
            setting(
                "FB_APP_SECRET",
                settings.fb_app_secret.is_some(),
                live && (meta || !settings.allow_unverified_onboardings),
            ),
            setting(
                "PARTNER_API_KEYS",
                !settings.partner_api_keys.is_empty(),
                true,
            ),
            setting("PARTNER_WEBHOOK_URL", webhook, true),
            setting("PARTNER_WEBHOOK_SECRET", webhook, true),
            setting(
                "TOKEN_ENCRYPTION_KEY",
                settings
                    .provider
                    .meta
                    .as_ref()
                    .is_some_and(|m| !m.ephemeral_key),
                live && meta,
            ),
            setting(
                "META_WEBHOOK_VERIFY_TOKEN",
                settings.provider.meta_webhook_verify_token.is_some(),
                live && meta,
            ),
        ],
        last_delivery: None,
    }
}
