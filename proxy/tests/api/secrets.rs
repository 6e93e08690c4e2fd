//! No secret in any response or log line: the YCloud key, the app secret, the webhook
//! secret, nor the user token the code is exchanged for.

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;
use crate::verification::{mount_graph, TOKEN};

#[tokio::test]
async fn secrets_never_leave_the_proxy() {
    let app = spawn_app_with(Options {
        verification: true,
        ..Options::default()
    })
    .await;
    mount_graph(&app, &[WABA], 1).await;
    // The key does reach YCloud (and only YCloud).
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .and(header("X-API-Key", API_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(waba_json(true)))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .and(header("X-API-Key", API_KEY))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(serde_json::json!({"error": {"status": 401,
            "code": "UNAUTHORIZED", "message": "Invalid API key", "requestId": "req_401"}})),
        )
        // Once from the post, once from the retry (a fixed key would make it pass).
        .expect(2)
        .mount(&app.ycloud)
        .await;

    let mut seen = String::new();
    let r = app.post_onboarding(&standard_body()).await;
    seen.push_str(&format!("{:?}", r.headers()));
    let text = r.text().await.unwrap();
    let o: wire::Onboarding = serde_json::from_str(&text).unwrap();
    assert_eq!(o.error.as_ref().unwrap().code, "upstream_unauthorized");
    seen.push_str(&text);
    for p in [
        "/api/config".to_owned(),
        format!("/api/onboardings/{}", o.id),
        "/healthz".to_owned(),
        "/api/openapi.json".to_owned(),
    ] {
        let r = app
            .client
            .get(format!("{}{p}", app.address))
            .send()
            .await
            .unwrap();
        seen.push_str(&format!("{:?}", r.headers()));
        seen.push_str(&r.text().await.unwrap());
    }
    let r = app.retry(&o.id).await;
    seen.push_str(&r.text().await.unwrap());
    // Webhooks, good and bad.
    let event =
        serde_json::json!({"id": "evt_secret", "type": "whatsapp.phone_number.quality_updated",
        "whatsappPhoneNumber": {"id": PHONE_ID, "wabaId": WABA, "status": "CONNECTED"}})
        .to_string();
    let r = app.post_signed_webhook(&event).await;
    assert_eq!(r.status(), 204);
    let r = app.post_webhook(&event, Some("t=1,s=00")).await;
    seen.push_str(&r.text().await.unwrap());
    // A refused verification (wrong code) logs Graph's refusal, still without secrets.
    let mut forged = standard_body();
    forged["code"] = serde_json::json!("forged-code");
    forged["phone_number_id"] = serde_json::json!("42");
    let r = app.post_onboarding(&forged).await;
    seen.push_str(&r.text().await.unwrap());

    let logs = captured_logs();
    assert!(logs.contains("YCloud call"), "the log capture works");
    assert!(logs.contains("Graph call"), "the Graph calls are logged");
    for secret in [API_KEY, APP_SECRET, WEBHOOK_SECRET, TOKEN] {
        assert!(!seen.contains(secret), "a response holds {secret}");
        assert!(!logs.contains(secret), "the log holds {secret}");
    }
    let opts = Options {
        verification: true,
        ..Options::default()
    };
    let settings = test_settings("http://127.0.0.1:1", &opts, &app.data_dir);
    let shown = format!("{settings:?}");
    assert!(
        !shown.contains(API_KEY) && !shown.contains(APP_SECRET) && !shown.contains(WEBHOOK_SECRET)
    );
}

#[tokio::test]
async fn tokens_in_addresses_are_never_logged_nor_cached_nor_sent_on() {
    let dist = fresh_dir("dist");
    std::fs::write(dist.join("index.html"), "<!doctype html><title>wa</title>").unwrap();
    let verify_token = "meta-verify-never-logged-5521";
    let app = spawn_app_with(Options {
        dist_dir: Some(dist),
        env: vec![("META_WEBHOOK_VERIFY_TOKEN", verify_token.to_owned())],
        ..Options::default()
    })
    .await;
    let session = app.session_token("c-logs").await;

    // The hosted link's page.
    let r = app
        .client
        .get(format!("{}/?session={session}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    // The page without one keeps the usual policy.
    let plain = app.client.get(&app.address).send().await.unwrap();
    assert_eq!(
        plain.headers()["referrer-policy"],
        "strict-origin-when-cross-origin"
    );

    // The page's question about its session.
    let r = app
        .client
        .post(format!("{}/api/session", app.address))
        .json(&serde_json::json!({ "session": session }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");

    // Meta's handshake carries its verify token in the query.
    let r = app
        .client
        .get(format!(
            "{}/webhooks/meta?hub.mode=subscribe&hub.verify_token={verify_token}&hub.challenge=42",
            app.address
        ))
        .send()
        .await
        .unwrap();
    let _ = r.status();

    let logs = captured_logs();
    assert!(
        logs.contains("/webhooks/meta"),
        "requests are logged at debug"
    );
    assert!(!logs.contains(&session), "a session token was logged");
    assert!(!logs.contains(verify_token), "the verify token was logged");
}
