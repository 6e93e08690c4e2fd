//! Load and faults together: 1,000 onboardings through the real proxy binary, against the
//! `fake-ycloud` binary answering some calls 500, some 429 and holding some past the proxy's
//! timeout, while the proxy is killed (`SIGKILL`) and restarted twice. Afterwards every
//! accepted onboarding has reached a final state, no bind or register was called again after
//! the proxy recorded it done, no number went past its register budget, and the stored rows
//! agree with each other. Bounded (well under a minute), loopback only.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::Row;
use tokio::sync::Semaphore;

use crate::fake_ycloud::Fake;
use crate::helpers::*;

const ONBOARDINGS: usize = 1_000;
const CONCURRENCY: usize = 24;
/// Kill the proxy once this many onboardings were accepted, then again at the second mark.
const KILL_AT: [usize; 2] = [300, 650];

struct Proxy {
    child: Child,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_proxy(dir: &std::path::Path, addr: &str, fake: &str) -> Proxy {
    let child = Command::new(env!("CARGO_BIN_EXE_wa-signup-proxy"))
        .env_clear()
        .current_dir(dir)
        .env("ADDR", addr)
        .env("DATABASE_URL", database_url(dir))
        .env("DIST_DIR", dir.join("no-dist"))
        .env("YCLOUD_API_KEY", API_KEY)
        .env("YCLOUD_BASE_URL", format!("{fake}/v2"))
        .env("FB_APP_ID", "1")
        .env("FB_CONFIG_ID", "2")
        .env("FB_SOLUTION_ID", "3")
        .env("ALLOW_UNVERIFIED_ONBOARDINGS", "true")
        .env("ALLOW_ANONYMOUS_ONBOARDINGS", "true")
        .env("UPSTREAM_TIMEOUT_SECS", "1")
        // One client posting a thousand sign-ups: the per-client limit would refuse it.
        .env("RATE_LIMIT_PER_MINUTE", "0")
        // A killed instance's onboardings are taken over once its leases expire.
        .env("ONBOARDING_LEASE_SECS", "2")
        // What is checked here is that nothing is lost across kills, within the 30 s below;
        // the default pace (20 a second, its own test) would spread a restart's hundreds of
        // resumes past that.
        .env("RESUME_PER_SECOND", "1000")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the proxy starts");
    Proxy { child }
}

async fn wait_healthy(client: &reqwest::Client, url: &str) {
    poll_until(Duration::from_secs(10), || async {
        match client.get(format!("{url}/healthz")).send().await {
            Ok(r) if r.status() == 200 => Ok(()),
            Ok(r) => Err(format!("the proxy at {url} answers {}", r.status())),
            Err(e) => Err(format!("the proxy at {url} is not there: {e}")),
        }
    })
    .await
}

fn ids(i: usize) -> (String, String) {
    // No WABA ends in one of the fake's special suffixes (402, 429, 500).
    (format!("7{i:06}1"), format!("8{i:06}1"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_onboardings_survive_faults_and_two_kills() {
    let started = Instant::now();
    let fake = Fake::start(&["--api-key", API_KEY, "--connect-after-ms", "300"]);
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let r = client
        .post(format!("{}/__faults", fake.base))
        .json(&json!({"errorPercent": 5, "rateLimitPercent": 5, "hangPercent": 2, "hangMs": 1500}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let dir = fresh_dir("soak");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let url = format!("http://{addr}");
    let mut proxy = start_proxy(&dir, &addr, &fake.base);
    wait_healthy(&client, &url).await;

    // Each onboarding is posted until the proxy accepts it (a killed proxy refuses
    // connections or drops requests in flight; posting the same ids again is idempotent).
    let accepted = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut posts = Vec::with_capacity(ONBOARDINGS);
    for i in 0..ONBOARDINGS {
        let (client, url, accepted, permits, refused) = (
            client.clone(),
            url.clone(),
            accepted.clone(),
            permits.clone(),
            refused.clone(),
        );
        posts.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            let (waba, phone) = ids(i);
            let body = json!({"mode": "standard", "waba_id": waba, "phone_number_id": phone});
            loop {
                match client
                    .post(format!("{url}/api/onboardings"))
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 || r.status() == 201 => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Ok(r) => {
                        let why = format!("{} {}", r.status(), r.text().await.unwrap_or_default());
                        refused
                            .lock()
                            .unwrap()
                            .push(format!("onboarding {i}: {why}"));
                        return;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        }));
    }
    let mut kills = 0;
    for mark in KILL_AT {
        poll_until(Duration::from_secs(60), || async {
            // A refused post will never be accepted: stop waiting for the mark then.
            let refused = refused.lock().unwrap().clone();
            assert!(
                refused.is_empty(),
                "refused before the kill at {mark}: {refused:?}"
            );
            match accepted.load(Ordering::Relaxed) {
                n if n >= mark => Ok(()),
                n => Err(format!("{n} accepted, the kill is at {mark}")),
            }
        })
        .await;
        // Child::kill is SIGKILL on Unix: no shutdown, no flush.
        proxy.child.kill().unwrap();
        proxy.child.wait().unwrap();
        kills += 1;
        proxy = start_proxy(&dir, &addr, &fake.base);
        wait_healthy(&client, &url).await;
    }
    for p in posts {
        p.await.expect("a post task");
    }
    let refused = refused.lock().unwrap().clone();
    assert!(refused.is_empty(), "refused: {refused:?}");
    assert_eq!(kills, 2);

    // Every accepted onboarding reaches a final state.
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&database_url(&dir)).await.unwrap();
    let states = poll_until(Duration::from_secs(30), || async {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM onboardings GROUP BY state")
            .fetch_all(&db)
            .await
            .unwrap();
        let states: HashMap<String, i64> = rows
            .iter()
            .map(|r| (r.get::<String, _>("state"), r.get::<i64, _>("n")))
            .collect();
        let moving: i64 = states
            .iter()
            .filter(|(s, _)| !matches!(s.as_str(), "connected" | "failed" | "action_required"))
            .map(|(_, n)| *n)
            .sum();
        if moving == 0 {
            Ok(states)
        } else {
            Err(format!("still moving: {states:?}"))
        }
    })
    .await;
    let total: i64 = states.values().sum();
    assert_eq!(
        total, ONBOARDINGS as i64,
        "one onboarding per WABA and number: {states:?}"
    );

    // No bind or register after the proxy recorded it done; no number past its budget.
    let calls: Vec<Value> = client
        .get(format!("{}/__calls", fake.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let done: HashMap<(String, String), i64> = sqlx::query(
        "SELECT o.waba_id, s.step, s.finished_at FROM onboarding_steps s \
         JOIN onboardings o ON o.id = s.onboarding_id WHERE s.status = 'done'",
    )
    .fetch_all(&db)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let finished: String = r.get("finished_at");
        let t =
            time::OffsetDateTime::parse(&finished, &time::format_description::well_known::Rfc3339)
                .unwrap();
        let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap();
        ((r.get("waba_id"), r.get("step")), ms)
    })
    .collect();
    let mut registers: HashMap<String, usize> = HashMap::new();
    let mut repeated = Vec::new();
    for call in &calls {
        let path = call["path"].as_str().unwrap();
        let at = call["at"].as_i64().unwrap();
        let parts: Vec<&str> = path.split('/').collect();
        let (step, waba) = match parts.as_slice() {
            ["", "v2", "whatsapp", "businessAccounts", waba, "tp", "bind"] => ("bind", *waba),
            ["", "v2", "whatsapp", "phoneNumbers", waba, phone, "register"] => {
                // A 429 is YCloud's rate limiter answering before anything reaches Meta: the
                // client may repeat it, and it costs nothing of the number's budget.
                if call["status"] != 429 {
                    *registers.entry((*phone).to_owned()).or_default() += 1;
                }
                ("register", *waba)
            }
            _ => continue,
        };
        if let Some(finished) = done.get(&(waba.to_owned(), step.to_owned())) {
            // Millisecond clocks on both sides: a call arriving in the same millisecond as
            // the record of the previous one's answer cannot be after it.
            if at > *finished {
                repeated.push(format!(
                    "{step} of {waba} at {at}, recorded done at {finished}"
                ));
            }
        }
    }
    assert!(repeated.is_empty(), "called again after done: {repeated:?}");
    let over: Vec<_> = registers.iter().filter(|(_, n)| **n > 10).collect();
    assert!(over.is_empty(), "register budget exceeded: {over:?}");
    let counted: i64 = sqlx::query("SELECT COUNT(*) AS n FROM register_attempts")
        .fetch_one(&db)
        .await
        .unwrap()
        .get("n");
    let made: usize = registers.values().sum();
    assert!(
        counted >= made as i64,
        "every register that may reach Meta is counted before it is made: {counted} counted, {made} made"
    );

    // The rows agree: connected means every step done; nothing final has a step in flight.
    let bad: Vec<String> = sqlx::query(
        "SELECT o.id, o.state, s.step, s.status FROM onboardings o \
         JOIN onboarding_steps s ON s.onboarding_id = o.id \
         WHERE (o.state = 'connected' AND s.status <> 'done') OR s.status = 'started'",
    )
    .fetch_all(&db)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        format!(
            "{} {} {} {}",
            r.get::<String, _>("id"),
            r.get::<String, _>("state"),
            r.get::<String, _>("step"),
            r.get::<String, _>("status")
        )
    })
    .collect();
    assert!(bad.is_empty(), "inconsistent rows: {bad:?}");
    let connected_without_register: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM onboardings o WHERE o.state = 'connected' AND NOT EXISTS \
         (SELECT 1 FROM onboarding_steps s WHERE s.onboarding_id = o.id AND s.step = 'register')",
    )
    .fetch_one(&db)
    .await
    .unwrap()
    .get("n");
    assert_eq!(connected_without_register, 0);

    let faults = calls
        .iter()
        .filter(|c| matches!(c["status"].as_u64(), Some(429 | 500)))
        .count();
    eprintln!(
        "soak: {ONBOARDINGS} onboardings, 2 kills, {} upstream calls ({faults} injected 500/429), \
         final states {states:?}, {:.1} s",
        calls.len(),
        started.elapsed().as_secs_f64()
    );
    db.close().await;
    drop(proxy);
    let _ = std::fs::remove_dir_all(&dir);
}
