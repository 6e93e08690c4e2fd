//! The `detail` of the widget's own `wa-signup:*` events (docs/API.md, "Events").

use serde::Serialize;
use serde_json::{Map, Value};

/// `detail` as JSON, marked in sandbox mode so that no listener can take a simulated
/// onboarding for a real one: an object gets `"sandbox": true` added; anything else (no
/// event sends one today) is wrapped as `{"value": detail, "sandbox": true}`. Outside the
/// sandbox the detail is unchanged and has no `sandbox` field.
pub fn event_detail(detail: &impl Serialize, sandbox: bool) -> Value {
    let value = serde_json::to_value(detail).unwrap_or(Value::Null);
    if !sandbox {
        return value;
    }
    let mut object = match value {
        Value::Object(object) => object,
        other => Map::from_iter([("value".to_owned(), other)]),
    };
    object.insert("sandbox".to_owned(), Value::Bool(true));
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn live_details_are_unchanged() {
        let detail = json!({"current_step": null});
        assert_eq!(event_detail(&detail, false), detail);
        assert_eq!(event_detail(&"x", false), json!("x"));
    }

    #[test]
    fn sandbox_details_say_so() {
        assert_eq!(
            event_detail(&json!({"id": "b7a1"}), true),
            json!({"id": "b7a1", "sandbox": true})
        );
        assert_eq!(
            event_detail(&"x", true),
            json!({"value": "x", "sandbox": true})
        );
        assert_eq!(
            event_detail(&json!([1]), true),
            json!({"value": [1], "sandbox": true})
        );
    }
}
