//! The signed-in state every view reads: the cookie session's CSRF token, and the partner API
//! calls made with it.

use leptos::prelude::*;
use serde_json::Value;

use crate::api::{self, ApiError};

/// The signed-in console: the CSRF token of its cookie session (none: signed out).
#[derive(Clone, Copy)]
pub struct Auth {
    /// `GET /console/session`'s token; none while signed out.
    pub csrf: RwSignal<Option<String>>,
}

impl Auth {
    /// A partner API call with the session's token; a 401 signs the console out.
    pub async fn call(
        self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let csrf = self.csrf.get_untracked();
        let result = api::call(method, path, body, csrf.as_deref()).await;
        if let Err(e) = &result {
            if e.status == 401 {
                self.csrf.set(None);
            }
        }
        result
    }
}
