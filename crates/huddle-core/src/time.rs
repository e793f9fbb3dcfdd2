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

/// Where the services read "now" for rules that depend on time passing (invite expiry), so
/// tests can move it instead of waiting.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The machine's clock moved forward by an offset a test sets (`advance`).
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset_ms: std::sync::atomic::AtomicI64,
}

impl ShiftedClock {
    pub fn advance(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms
            .fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        let offset = self.offset_ms.load(std::sync::atomic::Ordering::SeqCst);
        Timestamp(Timestamp::now().0.saturating_add(offset))
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
