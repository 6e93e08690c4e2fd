//! What the browser tests share: waiting for a fact the page shows.

/// Checks `fact` every 20 ms until it holds, for at most 6 s; answers whether it held (the
/// caller fails with what it saw).
pub async fn eventually(fact: impl Fn() -> bool) -> bool {
    eventually_within(6_000, fact).await
}

/// [`eventually`] for at most `ms` milliseconds, for facts that come on a slower clock (a
/// widget asking the proxy every few seconds).
// Each browser test file compiles this module on its own; not every one needs this.
#[allow(dead_code)]
pub async fn eventually_within(ms: u32, fact: impl Fn() -> bool) -> bool {
    for _ in 0..ms / 20 {
        if fact() {
            return true;
        }
        wa_signup::browser::dom::sleep(20).await;
    }
    fact()
}
