//! How values read from the partner API are shown.

use serde_json::Value;

/// An RFC 3339 time as `2026-12-07 10:04:05 UTC` (to the second); as it is otherwise.
pub fn time(value: &str) -> String {
    match (value.get(..10), value.get(11..19)) {
        (Some(date), Some(clock)) if value.as_bytes().get(10) == Some(&b'T') => {
            format!("{date} {clock} UTC")
        }
        _ => value.to_owned(),
    }
}

/// A JSON value's text: strings as they are, numbers and booleans written, nothing for
/// `null` or a missing field.
pub fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `text`, or a dash when empty (table cells).
pub fn or_dash(value: &Value) -> String {
    let t = text(value);
    if t.is_empty() {
        "–".to_owned()
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_values_read_plainly() {
        assert_eq!(
            time("2026-12-07T10:04:05.123456Z"),
            "2026-12-07 10:04:05 UTC"
        );
        assert_eq!(time("soon"), "soon");
        assert_eq!(text(&serde_json::json!(3)), "3");
        assert_eq!(or_dash(&Value::Null), "–");
        assert_eq!(or_dash(&serde_json::json!("a")), "a");
    }
}
