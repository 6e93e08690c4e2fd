//! `GET /metrics`: the series and their values after real traffic, and `METRICS_TOKEN`.

use proxy::config::DEFAULT_GRAPH_VERSION;
use wire::{Onboarding, OnboardingState};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

async fn scrape(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(format!("{}/metrics", app.address));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("request")
}

/// The value of the sample named exactly `series` (name and labels).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().expect("a number"))
}

#[tokio::test]
async fn a_scrape_after_one_onboarding_counts_its_requests_state_and_calls() {
    let app = spawn_app().await;
    expect_bind_once(&app).await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Connected);
    assert_eq!(app.get_onboarding(&o.id).await.status(), 200);
    let missing = app
        .client
        .get(format!("{}/no/such/page", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let r = scrape(&app, None).await;
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let text = r.text().await.unwrap();
    for (series, want) in [
        (
            r#"wa_signup_http_requests_total{method="POST",route="/api/onboardings",status="201"}"#,
            1.0,
        ),
        // The route as routed, never the id asked for.
        (
            r#"wa_signup_http_requests_total{method="GET",route="/api/onboardings/{id}",status="200"}"#,
            1.0,
        ),
        (
            r#"wa_signup_http_requests_total{method="GET",route="fallback",status="404"}"#,
            1.0,
        ),
        (
            r#"wa_signup_http_request_duration_seconds_count{method="POST",route="/api/onboardings"}"#,
            1.0,
        ),
        (r#"wa_signup_onboardings{state="connected"}"#, 1.0),
        (r#"wa_signup_onboardings{state="pending"}"#, 0.0),
        (r#"wa_signup_onboardings{state="failed"}"#, 0.0),
        (
            r#"wa_signup_upstream_calls_total{upstream="ycloud",call="tp_bind",outcome="ok"}"#,
            1.0,
        ),
        (
            r#"wa_signup_upstream_calls_total{upstream="ycloud",call="register",outcome="ok"}"#,
            1.0,
        ),
        (
            r#"wa_signup_upstream_call_duration_seconds_count{upstream="ycloud",call="tp_bind"}"#,
            1.0,
        ),
    ] {
        assert_eq!(value(&text, series), Some(want), "{series} in\n{text}");
    }
    assert!(!text.contains(&o.id), "no raw path in a label");
    assert!(text.ends_with("# EOF\n"));
}

#[tokio::test]
async fn failed_upstream_calls_are_counted_by_outcome() {
    let app = spawn_app_with(Options {
        verification: true,
        ..Options::default()
    })
    .await;
    Mock::given(method("GET"))
        .and(path(format!("/{DEFAULT_GRAPH_VERSION}/oauth/access_token")))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&app.graph)
        .await;
    assert_error_shape(app.post_onboarding(&standard_body()).await, 502).await;
    let text = scrape(&app, None).await.text().await.unwrap();
    let series =
        r#"wa_signup_upstream_calls_total{upstream="graph",call="exchange",outcome="http_5xx"}"#;
    assert_eq!(value(&text, series), Some(1.0), "{text}");
    let series =
        r#"wa_signup_http_requests_total{method="POST",route="/api/onboardings",status="502"}"#;
    assert_eq!(value(&text, series), Some(1.0), "{text}");
}

#[tokio::test]
async fn with_a_token_set_the_metrics_need_it() {
    const TOKEN: &str = "metrics_TEST_5cr4p3_t0k3n";
    let app = spawn_app_with(Options {
        env: vec![("METRICS_TOKEN", TOKEN.to_owned())],
        ..Options::default()
    })
    .await;
    for sent in [None, Some("metrics_TEST_wrong_t0k3n"), Some("")] {
        let r = scrape(&app, sent).await;
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let e = assert_error_shape(r, 401).await;
        assert_eq!(e.error.code, "unauthorized");
    }
    let r = scrape(&app, Some(TOKEN)).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("wa_signup_onboardings"));
}
