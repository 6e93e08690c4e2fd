//! A client that goes away mid-request: the steps it started run to the end all the same.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use wire::{Onboarding, OnboardingState};
use wiremock::matchers::{method, path};
use wiremock::Mock;

use crate::helpers::*;

/// Sends `POST {path}` with `body` on a raw socket and closes it once YCloud has received
/// `binds` bind calls in all (the request is mid-bind, the bind being slow), before the
/// answer (a browser tab closed, a proxy in between timing out).
async fn post_and_hang_up(app: &TestApp, path: &str, body: &str, binds: usize) {
    let host = app.address.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(host).await.expect("connect");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         {}Content-Length: {}\r\n\r\n{body}",
        bearer_for_path(path)
            .get("authorization")
            .map(|v| format!("Authorization: {}\r\n", v.to_str().unwrap()))
            .unwrap_or_default(),
        body.len()
    );
    socket.write_all(request.as_bytes()).await.expect("send");
    poll_until_holds("the bind under way", Duration::from_secs(10), || async {
        app.calls_to(&tp_bind_path()).await >= binds
    })
    .await;
    drop(socket);
}

#[tokio::test]
async fn a_create_whose_client_hangs_up_still_binds_and_registers_once() {
    let app = spawn_app_with(Options {
        request_timeout: Some(Duration::from_secs(5)),
        ..Options::default()
    })
    .await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(true)).set_delay(Duration::from_secs(2)))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1)
        .mount(&app.ycloud)
        .await;

    let body = standard_body().to_string();
    post_and_hang_up(&app, "/api/onboardings", &body, 1).await;
    // The same ids again find the onboarding the first post created.
    let again = app.post_onboarding(&standard_body()).await;
    assert_eq!(again.status(), 200);
    let o: Onboarding = again.json().await.unwrap();
    let o = app
        .wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(10))
        .await;
    assert!(o.error.is_none(), "{o:?}");
    assert_eq!(app.calls_to(&tp_bind_path()).await, 1, "bind");
    assert_eq!(app.calls_to(&register_path()).await, 1, "register");
}

#[tokio::test]
async fn a_retry_whose_client_hangs_up_still_runs_to_the_end() {
    let app = spawn_app_with(Options {
        request_timeout: Some(Duration::from_secs(5)),
        ..Options::default()
    })
    .await;
    // The first bind fails in a way a retry may repeat; the second is slow.
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(wiremock::ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(true)).set_delay(Duration::from_secs(2)))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Failed, "{o:?}");

    let retry = format!("/api/onboardings/{}/retry", o.id);
    post_and_hang_up(&app, &retry, "", 2).await;
    let o = app
        .wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(10))
        .await;
    assert!(o.error.is_none(), "{o:?}");
    assert_eq!(app.calls_to(&tp_bind_path()).await, 2, "bind");
    assert_eq!(app.calls_to(&register_path()).await, 1, "register");
}
