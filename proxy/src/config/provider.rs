//! `WHATSAPP_PROVIDER` and the settings of Meta's Cloud API provider: `TOKEN_ENCRYPTION_KEY`,
//! `DATA_LOCALIZATION_REGION`, `META_WEBHOOK_VERIFY_TOKEN`.

use std::fmt;

use secrecy::SecretString;
use wire::StorageRegion;

use super::ConfigError;
use crate::vault;

/// Who registers the numbers (`WHATSAPP_PROVIDER`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WhatsappProvider {
    /// `ycloud` (the default): YCloud binds and registers, as a BSP.
    #[default]
    YCloud,
    /// `meta`: the proxy calls Meta's Cloud API itself with the customer's business token.
    Meta,
}

impl WhatsappProvider {
    /// The variable's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            WhatsappProvider::YCloud => "ycloud",
            WhatsappProvider::Meta => "meta",
        }
    }
}

impl fmt::Display for WhatsappProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the Meta provider needs besides the Graph API settings every mode has.
#[derive(Debug, Clone)]
pub struct MetaSettings {
    /// `TOKEN_ENCRYPTION_KEY`; in sandbox mode without one, a random key (nothing outlives
    /// the process that would need it).
    pub token_key: vault::Key,
    /// Whether `token_key` was made up for a sandbox.
    pub ephemeral_key: bool,
    /// `TOKEN_ENCRYPTION_OLD_KEYS`: earlier keys, which only open (and are replaced by
    /// `token_key` at start-up).
    pub old_keys: Vec<vault::Key>,
}

/// The provider's part of [`super::Settings`].
#[derive(Debug, Clone, Default)]
pub struct ProviderSettings {
    /// `WHATSAPP_PROVIDER`.
    pub provider: WhatsappProvider,
    /// With `meta`: its settings.
    pub meta: Option<MetaSettings>,
    /// `DATA_LOCALIZATION_REGION`: the local-storage region of standard registrations whose
    /// session names none.
    pub data_localization_region: Option<StorageRegion>,
    /// `META_WEBHOOK_VERIFY_TOKEN`; none: `GET /webhooks/meta` answers 503.
    pub meta_webhook_verify_token: Option<SecretString>,
}

/// Reads the provider's variables. `get` answers a trimmed, non-empty value or none.
pub(super) fn parse(
    get: &dyn Fn(&str) -> Option<String>,
    sandbox: bool,
) -> Result<ProviderSettings, ConfigError> {
    let provider = match get("WHATSAPP_PROVIDER").as_deref() {
        None | Some("ycloud") => WhatsappProvider::YCloud,
        Some("meta") => WhatsappProvider::Meta,
        Some(other) => {
            return Err(ConfigError::new(
                "WHATSAPP_PROVIDER",
                format!("expected ycloud or meta, got {other:?}"),
            ))
        }
    };
    let key = get("TOKEN_ENCRYPTION_KEY")
        .map(|k| {
            vault::Key::from_base64(&k).map_err(|e| ConfigError::new("TOKEN_ENCRYPTION_KEY", e))
        })
        .transpose()?;
    let old_keys = match get("TOKEN_ENCRYPTION_OLD_KEYS") {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .enumerate()
            .map(|(i, k)| {
                vault::Key::from_base64(k).map_err(|e| {
                    ConfigError::new("TOKEN_ENCRYPTION_OLD_KEYS", format!("key {}: {e}", i + 1))
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    if !old_keys.is_empty() && key.is_none() {
        return Err(ConfigError::new(
            "TOKEN_ENCRYPTION_OLD_KEYS",
            "set TOKEN_ENCRYPTION_KEY too: earlier keys only open what they sealed, the \
             current key seals it again",
        ));
    }
    let data_localization_region = get("DATA_LOCALIZATION_REGION")
        .map(|r| {
            StorageRegion::parse(&r).map_err(|_| {
                ConfigError::new(
                    "DATA_LOCALIZATION_REGION",
                    format!(
                        "expected one of Meta's local-storage regions ({}), got {r:?}",
                        StorageRegion::ALL.join(", ")
                    ),
                )
            })
        })
        .transpose()?;
    let meta = match provider {
        WhatsappProvider::YCloud => None,
        WhatsappProvider::Meta => {
            if !sandbox && get("FB_APP_SECRET").is_none() {
                return Err(ConfigError::new(
                    "FB_APP_SECRET",
                    "required with WHATSAPP_PROVIDER=meta: the code exchange gives the \
                     customer's business token and the secret verifies Meta's webhooks",
                ));
            }
            match key {
                Some(token_key) => Some(MetaSettings {
                    token_key,
                    ephemeral_key: false,
                    old_keys,
                }),
                None if sandbox => Some(MetaSettings {
                    token_key: vault::Key::random()
                        .map_err(|e| ConfigError::new("TOKEN_ENCRYPTION_KEY", e))?,
                    ephemeral_key: true,
                    old_keys: Vec::new(),
                }),
                None => {
                    return Err(ConfigError::new(
                        "TOKEN_ENCRYPTION_KEY",
                        "required with WHATSAPP_PROVIDER=meta: base64 of 32 random bytes \
                         (e.g. `openssl rand -base64 32`) to encrypt stored tokens and PINs",
                    ))
                }
            }
        }
    };
    Ok(ProviderSettings {
        provider,
        meta,
        data_localization_region,
        meta_webhook_verify_token: get("META_WEBHOOK_VERIFY_TOKEN").map(SecretString::from),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parsed(vars: &[(&str, &str)], sandbox: bool) -> Result<ProviderSettings, ConfigError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        parse(&|k| map.get(k).map(|v| (*v).to_owned()), sandbox)
    }

    const KEY: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/DmyQsxDgVo=";

    #[test]
    fn ycloud_is_the_default_and_unknown_providers_are_refused() {
        assert_eq!(
            parsed(&[], false).unwrap().provider,
            WhatsappProvider::YCloud
        );
        let err = parsed(&[("WHATSAPP_PROVIDER", "twilio")], false).unwrap_err();
        assert_eq!(err.var, "WHATSAPP_PROVIDER");
        assert_eq!(
            err.to_string(),
            "WHATSAPP_PROVIDER: expected ycloud or meta, got \"twilio\""
        );
    }

    #[test]
    fn meta_needs_the_app_secret_and_a_key_of_32_bytes() {
        let err = parsed(&[("WHATSAPP_PROVIDER", "meta")], false).unwrap_err();
        assert_eq!(err.var, "FB_APP_SECRET");
        let err = parsed(
            &[("WHATSAPP_PROVIDER", "meta"), ("FB_APP_SECRET", "s")],
            false,
        )
        .unwrap_err();
        assert_eq!(err.var, "TOKEN_ENCRYPTION_KEY");
        let err = parsed(
            &[
                ("WHATSAPP_PROVIDER", "meta"),
                ("FB_APP_SECRET", "s"),
                ("TOKEN_ENCRYPTION_KEY", "c2hvcnQta2V5"),
            ],
            false,
        )
        .unwrap_err();
        assert_eq!(err.var, "TOKEN_ENCRYPTION_KEY");
        assert!(!err.to_string().contains("c2hvcnQta2V5"), "{err}");
        let ok = parsed(
            &[
                ("WHATSAPP_PROVIDER", "meta"),
                ("FB_APP_SECRET", "s"),
                ("TOKEN_ENCRYPTION_KEY", KEY),
                ("DATA_LOCALIZATION_REGION", "DE"),
            ],
            false,
        )
        .unwrap();
        assert_eq!(ok.provider, WhatsappProvider::Meta);
        assert!(!ok.meta.unwrap().ephemeral_key);
        assert_eq!(ok.data_localization_region.unwrap().as_str(), "DE");
        // The sandbox makes up a key and needs no secret.
        let sandbox = parsed(&[("WHATSAPP_PROVIDER", "meta")], true).unwrap();
        assert!(sandbox.meta.unwrap().ephemeral_key);
    }

    #[test]
    fn the_region_must_be_one_of_metas() {
        let err = parsed(&[("DATA_LOCALIZATION_REGION", "FR")], false).unwrap_err();
        assert_eq!(err.var, "DATA_LOCALIZATION_REGION");
        assert!(err.message.contains("DE"), "{err}");
    }
}
