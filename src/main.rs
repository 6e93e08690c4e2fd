//! Standalone page: mount the onboarding app on `<body>`.

fn main() {
    wa_signup::mount_standalone();
}
