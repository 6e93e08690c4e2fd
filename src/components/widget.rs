use leptos::prelude::*;

use super::{Phase, Status};

/// The onboarding widget: one launch button per mode and the status region.
#[component]
pub fn Widget() -> impl IntoView {
    let (phase, set_phase) = signal(Phase::Ready);
    view! {
        <section class="wa-signup">
            <h1 class="wa-title">"Connect WhatsApp"</h1>
            <div class="wa-modes">
                <button type="button" class="wa-launch" data-testid="launch-standard"
                    on:click=move |_| set_phase.set(Phase::InPopup)>
                    "Connect a new number"
                </button>
                <button type="button" class="wa-launch" data-testid="launch-coexistence"
                    on:click=move |_| set_phase.set(Phase::InPopup)>
                    "Keep using the WhatsApp Business App"
                </button>
            </div>
            <Status phase=phase />
        </section>
    }
}
