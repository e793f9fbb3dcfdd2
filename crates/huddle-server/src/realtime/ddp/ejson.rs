//! EJSON, as far as DDP needs it: dates travel as `{"$date": <ms since the epoch>}` both ways.

use huddle_core::Timestamp;
use serde_json::Value;

/// Reads an EJSON date. Anything else (a string, a bare number) is not one.
pub fn date(v: &Value) -> Option<Timestamp> {
    let ms = v.as_object()?.get("$date")?;
    ms.as_i64()
        .or_else(|| ms.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
        .map(Timestamp)
}

/// An optional date parameter: absent or `null` is `Ok(None)`, a malformed one is `Err`.
pub fn opt_date(v: Option<&Value>) -> Result<Option<Timestamp>, ()> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(d) => date(d).map(Some).ok_or(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_are_objects_with_millis() {
        assert_eq!(date(&json!({"$date": 5})), Some(Timestamp(5)));
        assert_eq!(date(&json!({"$date": 5.0})), Some(Timestamp(5)));
        assert_eq!(date(&json!("2020-01-01T00:00:00Z")), None);
        assert_eq!(opt_date(Some(&json!(null))), Ok(None));
        assert_eq!(opt_date(Some(&json!(3))), Err(()));
    }
}
