//! Graph's error answers, read once for every caller: the ownership check logs them, the
//! Meta provider turns them into onboarding errors (`providers/meta/errors.rs`).

use serde::Deserialize;
use serde_json::Value;

/// Graph's error body, read: `{"error":{"code","error_subcode","message","error_user_msg",
/// "fbtrace_id"}}`, or the retired On-Premises API's `{"code": 1005, "title", "details"}`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fault {
    /// `error.code` (or the On-Premises body's `code`).
    pub code: Option<i64>,
    /// `error.error_subcode`.
    pub subcode: Option<i64>,
    /// Meta's sentence for the user, else its message (cut to 300 characters).
    pub message: Option<String>,
    /// `error.fbtrace_id`, to quote to Meta's support.
    pub fbtrace_id: Option<String>,
}

/// A success status whose body is not a JSON object.
#[derive(Debug, Clone)]
pub struct BadBody {
    /// The HTTP status.
    pub status: u16,
    /// What did not parse.
    pub cause: String,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    error: Option<GraphError>,
    // The On-Premises API's shape: `{"code": 1005, "title", "details"}`.
    code: Option<Value>,
}

#[derive(Deserialize)]
struct GraphError {
    message: Option<String>,
    code: Option<Value>,
    error_subcode: Option<Value>,
    error_user_msg: Option<String>,
    fbtrace_id: Option<String>,
}

fn number(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads Graph's error body; what is missing or unreadable stays `None`.
pub fn read_fault(body: &[u8]) -> Fault {
    let parsed = serde_json::from_slice::<GraphErrorBody>(body).ok();
    let error = parsed.as_ref().and_then(|b| b.error.as_ref());
    Fault {
        code: number(error.and_then(|e| e.code.as_ref()))
            .or_else(|| number(parsed.as_ref().and_then(|b| b.code.as_ref()))),
        subcode: number(error.and_then(|e| e.error_subcode.as_ref())),
        message: error
            .and_then(|e| e.error_user_msg.clone().or_else(|| e.message.clone()))
            .map(|m| m.chars().take(300).collect()),
        fbtrace_id: error.and_then(|e| e.fbtrace_id.clone()),
    }
}
