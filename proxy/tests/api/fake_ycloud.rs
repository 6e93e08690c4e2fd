//! The `fake-ycloud` binary (the sandbox's fake over HTTP, which the end-to-end suite and the
//! benchmarks use) as the YCloud of a live-mode proxy: it must speak the client's paths and
//! error shape, and lead to the same outcomes as the in-process sandbox.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use wire::{Onboarding, OnboardingState};

use crate::helpers::*;

/// The binary on a free port; killed when dropped.
pub(crate) struct Fake {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:PORT` (YCloud's paths are under `/v2`).
    pub(crate) base: String,
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Fake {
    /// Starts the binary with `args` and waits for its port line.
    pub(crate) fn start(args: &[&str]) -> Fake {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fake-ycloud"))
            .arg("0")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("fake-ycloud starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the port line");
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("not a port: {line:?}"));
        Fake {
            child,
            _stdout: stdout,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A live-mode proxy whose `YCLOUD_BASE_URL` is this fake.
    async fn proxy(&self) -> TestApp {
        spawn_app_with(Options {
            env: vec![("YCLOUD_BASE_URL", format!("{}/v2", self.base))],
            ..Options::default()
        })
        .await
    }

    /// `GET /__calls` as `"METHOD path"`.
    async fn calls(&self) -> Vec<String> {
        let calls: Vec<Value> = reqwest::get(format!("{}/__calls", self.base))
            .await
            .expect("GET /__calls")
            .json()
            .await
            .expect("calls json");
        calls
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c["method"].as_str().unwrap(),
                    c["path"].as_str().unwrap()
                )
            })
            .collect()
    }
}

#[tokio::test]
async fn the_fake_over_http_takes_a_live_proxy_from_sign_up_to_connected() {
    let fake = Fake::start(&["--api-key", API_KEY, "--connect-after-ms", "300"]);
    let app = fake.proxy().await;

    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Pending, "{o:?}");
    assert_eq!(o.waba.as_ref().unwrap().payment_method_attached, Some(true));
    assert_eq!(
        o.phone_number.as_ref().unwrap().status.as_deref(),
        Some("PENDING")
    );
    let done = app
        .wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(10))
        .await;
    assert_eq!(
        done.phone_number.unwrap().status.as_deref(),
        Some("CONNECTED")
    );
    let number = app.stored_record(&o.id).await.phone_number.unwrap();
    assert_eq!(number["phoneNumber"], "+15552242922");

    let calls = fake.calls().await;
    assert_eq!(
        calls[..2],
        [
            format!("POST /v2/whatsapp/businessAccounts/{WABA}/tp/bind"),
            format!("POST /v2/whatsapp/phoneNumbers/{WABA}/{PHONE_ID}/register"),
        ]
    );
    assert!(calls.len() > 2, "{calls:?}");
    assert!(
        calls[2..]
            .iter()
            .all(|c| *c == format!("GET /v2/whatsapp/phoneNumbers/{WABA}/+15552242922")),
        "{calls:?}"
    );

    // YCloud's error shape and request id header, here for a wrong key.
    let r = app
        .client
        .get(format!("{}/v2/whatsapp/businessAccounts/{WABA}", fake.base))
        .header("X-API-Key", "not-the-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let request_id = r.headers()["YCloud-Request-ID"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");
    assert_eq!(body["error"]["status"], 401);
    assert_eq!(body["error"]["requestId"], request_id.as_str());
}

#[tokio::test]
async fn special_waba_ids_end_the_same_over_http_as_in_the_sandbox() {
    let fake = Fake::start(&["--zero-latency"]);
    let live = fake.proxy().await;
    let sandbox = spawn_sandbox_app().await;
    for (waba, state, code, retryable) in [
        (
            "104996122399402",
            OnboardingState::ActionRequired,
            "payment_method_missing",
            true,
        ),
        (
            "104996122399429",
            OnboardingState::Failed,
            "register_limit",
            true,
        ),
        (
            "104996122399500",
            OnboardingState::Failed,
            "upstream_unavailable",
            true,
        ),
    ] {
        let body = json!({"mode": "standard", "waba_id": waba, "phone_number_id": PHONE_ID});
        for app in [&live, &sandbox] {
            let o: Onboarding = app.post_onboarding(&body).await.json().await.unwrap();
            assert_eq!(o.state, state, "{waba}: {o:?}");
            let e = o.error.unwrap();
            assert_eq!((e.code.as_str(), e.retryable), (code, retryable), "{waba}");
            if state == OnboardingState::Failed {
                let id = e.upstream_request_id.unwrap_or_default();
                assert!(id.starts_with("req_sandbox_"), "{waba}: {id:?}");
            }
        }
    }
    let calls = fake.calls().await;
    assert!(calls.contains(&"POST /v2/whatsapp/businessAccounts/104996122399500/tp/bind".into()));
    assert!(
        !calls
            .iter()
            .any(|c| c.contains("104996122399500/") && c.contains("register")),
        "no register after a failed bind: {calls:?}"
    );
}
