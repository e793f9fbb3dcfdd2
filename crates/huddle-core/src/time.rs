//! Time as the store keeps it (milliseconds since the epoch) and as the APIs show it.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time with millisecond precision, serialized as ISO-8601 with milliseconds and `Z`
/// (`2024-10-15T02:52:42.123Z`), as Rocket.Chat's REST API does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Utc::now().timestamp_millis())
    }
    pub fn millis(self) -> i64 {
        self.0
    }
    pub fn to_iso(self) -> String {
        Utc.timestamp_millis_opt(self.0)
            .single()
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }
    /// Parses an ISO-8601 date as clients send it (`updatedSince`, `latest`, `oldest`).
    pub fn parse_iso(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| Timestamp(d.timestamp_millis()))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_iso())
    }
}

/// Reads what `Serialize` writes (ISO-8601), so stored event payloads read back exactly.
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_iso(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not an ISO-8601 date: {s}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_has_millis_and_z() {
        assert_eq!(
            Timestamp(1_480_540_984_737).to_iso(),
            "2016-11-30T21:23:04.737Z"
        );
        assert_eq!(
            Timestamp::parse_iso("2016-11-30T21:23:04.737Z"),
            Some(Timestamp(1_480_540_984_737))
        );
    }
}
