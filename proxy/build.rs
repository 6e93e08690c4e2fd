// `sqlx::migrate!` embeds proxy/migrations at compile time but cannot tell cargo to watch the
// folder on stable Rust: without this, a new migration is missed until something else
// changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
