//! What the browser tests share: waiting for a fact the page shows.

/// Checks `fact` every 20 ms until it holds, for at most 6 s; answers whether it held (the
/// caller fails with what it saw).
pub async fn eventually(fact: impl Fn() -> bool) -> bool {
    for _ in 0..300 {
        if fact() {
            return true;
        }
        wa_signup::browser::dom::sleep(20).await;
    }
    fact()
}
