//! Health, config, static files, the sandbox stand-ins.

use std::time::Duration;

use serde_json::Value;
use wire::{EsVersion, OnboardingState, PublicConfig};

use crate::helpers::*;

#[tokio::test]
async fn healthz_answers_ok_the_mode_the_provider_and_the_version() {
    for (app, mode) in [
        (spawn_app().await, "live"),
        (spawn_sandbox_app().await, "sandbox"),
    ] {
        let r = app
            .client
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            serde_json::json!({"status": "ok", "mode": mode, "provider": "ycloud",
                "version": env!("CARGO_PKG_VERSION")})
        );
        let health: wire::Health = app.get_json("/healthz").await;
        assert_eq!(health.mode == wire::ProxyMode::Sandbox, mode == "sandbox");
    }
}

#[tokio::test]
async fn config_has_public_values_only() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(format!("{}/api/config", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let c: PublicConfig = r.json().await.unwrap();
    assert_eq!(c.app_id, "1234567890");
    assert_eq!(c.config_id, "2345678901");
    assert_eq!(c.solution_id, "3456789012");
    assert_eq!(c.graph_version, proxy::config::DEFAULT_GRAPH_VERSION);
    assert_eq!(c.es_version, EsVersion::V4);
    assert_eq!(c.sdk_url, "https://connect.facebook.net/en_US/sdk.js");
    assert!(!c.sandbox);
    // No FB_APP_SECRET: no ownership check, and the flag says so.
    assert!(!c.verification);

    let app = spawn_app_with(Options {
        verification: true,
        ..Options::default()
    })
    .await;
    let c: PublicConfig = app.get_json("/api/config").await;
    assert!(c.verification);

    // FB_ES_VERSION and FB_GRAPH_VERSION reach the browser as configured.
    let app = spawn_app_with(Options {
        env: vec![
            ("FB_ES_VERSION", "v4-public-preview".into()),
            ("FB_GRAPH_VERSION", "v25.0".into()),
        ],
        ..Options::default()
    })
    .await;
    let c: Value = app.get_json("/api/config").await;
    assert_eq!(c["es_version"], "v4-public-preview");
    assert_eq!(c["graph_version"], "v25.0");
}

#[tokio::test]
async fn the_bundle_is_served_with_mime_types_and_compression() {
    let dist = fresh_dir("dist");
    std::fs::write(dist.join("index.html"), "<!doctype html><title>wa</title>").unwrap();
    std::fs::write(dist.join("app_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let js = "console.log('hello');\n".repeat(200);
    std::fs::write(dist.join("app.js"), &js).unwrap();
    std::fs::write(dist.join("style.css"), "body{margin:0}").unwrap();
    let app = spawn_app_with(Options {
        dist_dir: Some(dist.clone()),
        ..Options::default()
    })
    .await;

    for (path, mime) in [
        ("/", "text/html"),
        ("/index.html", "text/html"),
        ("/app_bg.wasm", "application/wasm"),
        ("/app.js", "text/javascript"),
        ("/style.css", "text/css"),
    ] {
        let r = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with(mime), "{path}: {ct}");
    }
    let r = app
        .client
        .get(format!("{}/app.js", app.address))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert!(r.bytes().await.unwrap().len() < js.len());

    let r = app
        .client
        .get(format!("{}/missing.js", app.address))
        .send()
        .await
        .unwrap();
    assert_error_shape(r, 404).await;
    // API routes take precedence over the bundle.
    let r = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = std::fs::remove_dir_all(dist);
}

#[tokio::test]
async fn the_page_carries_the_configuration_and_hashed_files_are_precompressed_and_kept() {
    let dist = fresh_dir("dist");
    let slot = r#"<script id="wa-signup-config" type="application/json"></script>"#;
    std::fs::write(
        dist.join("index.html"),
        format!("<!doctype html>{slot}<p>page"),
    )
    .unwrap();
    let js = "console.log('hello');\n".repeat(200);
    let hashed = "app-0123456789abcdef.js";
    std::fs::write(dist.join(hashed), &js).unwrap();
    std::fs::write(dist.join(format!("{hashed}.br")), "brotli bytes").unwrap();
    std::fs::write(dist.join(format!("{hashed}.gz")), "gzip bytes").unwrap();
    std::fs::write(dist.join("embed.js"), &js).unwrap();
    let app = spawn_app_with(Options {
        dist_dir: Some(dist.clone()),
        ..Options::default()
    })
    .await;
    let get = |path: &str, encoding: &str| {
        app.client
            .get(format!("{}{path}", app.address))
            .header("accept-encoding", encoding)
            .send()
    };

    // The page: /api/config's answer inside it, never cached without asking.
    let config: Value = app.get_json("/api/config").await;
    for path in ["/", "/index.html"] {
        let r = get(path, "identity").await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-cache", "{path}");
        let html = r.text().await.unwrap();
        let json = html
            .split_once(r#"type="application/json">"#)
            .and_then(|(_, rest)| rest.split_once("</script>"))
            .map(|(json, _)| json)
            .expect("the configuration block");
        assert_eq!(
            serde_json::from_str::<Value>(json).unwrap(),
            config,
            "{path}"
        );
    }

    // A content-hashed file: its precompressed copy as it is, cached for a year.
    for (encoding, body) in [("br", "brotli bytes"), ("gzip", "gzip bytes")] {
        let r = get(&format!("/{hashed}"), encoding).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-encoding"], encoding);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(r.text().await.unwrap(), body);
    }
    // A stable name (partners load /embed.js): revalidated; without a precompressed copy,
    // compressed on the fly.
    let r = get("/embed.js", "gzip").await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-cache");
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert!(r.bytes().await.unwrap().len() < js.len());
    // Misses keep the error shape and are not cached.
    let r = get("/app-0123456789abcdef_bg.wasm", "identity")
        .await
        .unwrap();
    assert!(r.headers().get("cache-control").is_none());
    assert_error_shape(r, 404).await;
    let _ = std::fs::remove_dir_all(dist);
}

#[tokio::test]
async fn html_pages_carry_a_content_security_policy() {
    let dist = fresh_dir("dist");
    let inline = "\n      window.__WA_CONFIG = fetch('/api/config');\n    ";
    std::fs::write(
        dist.join("index.html"),
        format!("<!doctype html><script src=\"/app.js\"></script><script>{inline}</script>"),
    )
    .unwrap();
    std::fs::write(dist.join("embed-demo.html"), "<!doctype html><p>demo").unwrap();
    std::fs::write(dist.join("app.js"), "console.log(1)").unwrap();
    let app = spawn_app_with(Options {
        sandbox: true,
        dist_dir: Some(dist.clone()),
        env: vec![("FRAME_ANCESTORS", "'self', https://shop.example.com".into())],
        ..Options::default()
    })
    .await;
    let get = |path: &str| app.client.get(format!("{}{path}", app.address)).send();

    // SHA-256 of `inline`, base64 (worked out apart from the proxy).
    let hash = "4fkHbW/xrX2eWOfQhbyhM7gzmCEutFqNgs5DQ+49UCU=";
    for path in [
        "/",
        "/index.html",
        "/embed-demo.html",
        "/sandbox/popup.html",
    ] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{path}: the sandbox SDK is the proxy's own: {csp}"
        );
        assert!(csp.contains(&format!("'sha256-{hash}'")), "{path}: {csp}");
        assert!(
            csp.contains("frame-ancestors 'self' https://shop.example.com"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            h["referrer-policy"], "strict-origin-when-cross-origin",
            "{path}"
        );
    }
    // Scripts and API answers are not pages: no policy, but never sniffed either.
    for path in ["/app.js", "/api/config"] {
        let r = get(path).await.unwrap();
        assert!(
            r.headers().get("content-security-policy").is_none(),
            "{path}"
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
    }
    drop(app);

    // Live, by default: the SDK's origin may load scripts, and only the proxy may frame it.
    let app = spawn_app_with(Options {
        dist_dir: Some(dist.clone()),
        ..Options::default()
    })
    .await;
    let r = app
        .client
        .get(format!("{}/", app.address))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self' https://connect.facebook.net 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(csp.ends_with("frame-ancestors 'self'"), "{csp}");
    let _ = std::fs::remove_dir_all(dist);
}

#[tokio::test]
async fn a_missing_bundle_says_how_to_build_it() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(format!("{}/", app.address))
        .send()
        .await
        .unwrap();
    let body = assert_error_shape(r, 404).await;
    assert!(
        body.error.message.contains("build"),
        "{}",
        body.error.message
    );
}

#[tokio::test]
async fn sandbox_mode_serves_the_stand_ins_and_connects_by_itself() {
    let app = spawn_sandbox_app().await;
    let c: PublicConfig = app.get_json("/api/config").await;
    assert!(c.sandbox);
    assert_eq!(c.sdk_url, "/sandbox/sdk.js");
    assert!(c.app_id.chars().all(|ch| ch.is_ascii_digit()));

    let r = app
        .client
        .get(format!("{}/sandbox/sdk.js", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let r = app
        .client
        .get(format!("{}/sandbox/popup.html", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));

    for body in [
        standard_body(),
        serde_json::json!({"mode": "coexistence", "waba_id": "777"}),
    ] {
        let r = app.post_onboarding(&body).await;
        assert_eq!(r.status(), 201);
        let o: wire::Onboarding = r.json().await.unwrap();
        assert_eq!(o.state, OnboardingState::Pending, "{o:?}");
        assert!(o.phone_number.is_some());
        let o = app
            .wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(10))
            .await;
        assert_eq!(o.phone_number.unwrap().status.as_deref(), Some("CONNECTED"));
    }
    // Nothing reached the (unused) mock server.
    assert!(app
        .ycloud
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty());

    let r = app
        .post_onboarding(
            &serde_json::json!({"mode": "standard", "waba_id": "1402", "phone_number_id": "5"}),
        )
        .await;
    let o: wire::Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::ActionRequired);
    assert_eq!(o.error.unwrap().code, "payment_method_missing");
}

#[tokio::test]
async fn live_mode_has_no_sandbox_routes() {
    let app = spawn_app().await;
    for path in ["/sandbox/sdk.js", "/sandbox/popup.html", "/embed-demo.html"] {
        let r = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_error_shape(r, 404).await;
    }
}

#[tokio::test]
async fn the_example_partner_page_is_a_sandbox_page() {
    let app = spawn_sandbox_app().await;
    let r = app
        .client
        .get(format!("{}/embed-demo.html", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("data-wa-signup"), "{text}");
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let app = spawn_app_with(Options {
        env: vec![("ALLOWED_ORIGINS", "https://shop.example.com".into())],
        ..Options::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/api/onboardings", app.address),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight("https://shop.example.com").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://shop.example.com"
    );
    let other = preflight("https://evil.example.com").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn healthz_says_unavailable_when_the_store_cannot_write_and_livez_still_answers() {
    use sqlx::Connection;
    let app = spawn_app().await;
    let get = |path: &'static str| {
        let app = &app;
        async move {
            app.client
                .get(format!("{}{path}", app.address))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(get("/healthz").await.status(), 200);
    // The database refuses writes, as a full disk or a read-only volume would.
    let mut db = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .unwrap();
    for event in ["INSERT", "UPDATE"] {
        sqlx::query(&format!(
            "CREATE TRIGGER refuse_{event} BEFORE {event} ON health_checks \
             BEGIN SELECT RAISE(ABORT, 'refused on purpose'); END"
        ))
        .execute(&mut db)
        .await
        .unwrap();
    }
    let r = get("/healthz").await;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "unavailable"}));
    let r = get("/livez").await;
    assert_eq!(r.status(), 200);
    for event in ["INSERT", "UPDATE"] {
        sqlx::query(&format!("DROP TRIGGER refuse_{event}"))
            .execute(&mut db)
            .await
            .unwrap();
    }
    assert_eq!(get("/healthz").await.status(), 200);
}
