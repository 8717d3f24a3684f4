use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use super::ParseError;

/// Ids minted by hookbridge: UUIDs (v7, so they sort by creation time), parsed on the way in.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn parse(s: &str) -> Result<Self, ParseError> {
                Uuid::try_parse(s)
                    .map(Self)
                    .map_err(|_| ParseError::new($field, "must be a UUID"))
            }

            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl std::str::FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                Self::parse(s)
            }
        }
    };
}

uuid_id!(/// A webhook's id (also the last segment of its ingress URL).
    WebhookId, "webhookId");
uuid_id!(/// A binding of a webhook to a process.
    BindingId, "bindingId");
uuid_id!(/// An accepted event; named in the ingress response and every message it causes.
    EventId, "eventId");
uuid_id!(/// A connector (outbound endpoint).
    ConnectorId, "connectorId");
uuid_id!(/// A failed trigger record.
    FailedTriggerId, "failedTriggerId");
uuid_id!(/// One delivery: stable per (event, target) so receivers can deduplicate.
    DeliveryId, "deliveryId");

/// Namespace for delivery ids derived from (event, target): UUID v5 keeps them stable
/// across retries and replays without storing anything.
const DELIVERY_NS: Uuid = Uuid::from_u128(0x6b1f_3c1e_5a9e_4c4b_9f0e_8d2a_1c3b_5e7d);

impl DeliveryId {
    /// The same (event, target) always gives the same id.
    pub fn derive(event: &EventId, target: &Uuid) -> Self {
        let mut name = [0u8; 32];
        name[..16].copy_from_slice(event.as_uuid().as_bytes());
        name[16..].copy_from_slice(target.as_bytes());
        Self(Uuid::new_v5(&DELIVERY_NS, &name))
    }
}

/// An organisation, workspace or app id given by the caller. They are URL path segments,
/// so only unreserved URL characters are allowed.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct LocationId(String);

impl LocationId {
    pub fn parse(field: &'static str, s: &str) -> Result<Self, ParseError> {
        if s.is_empty() || s.len() > 128 {
            return Err(ParseError::new(field, "must be 1 to 128 characters"));
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')) {
            return Err(ParseError::new(field, "may contain only letters, digits, '-', '_', '.', '~'"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LocationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for LocationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl<'de> Deserialize<'de> for LocationId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse("location", &s).map_err(serde::de::Error::custom)
    }
}

/// Where a message goes: an SQS queue URL in AWS, or a queue name. Both backends accept
/// both forms: the queue's name is the URL's last path segment.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct QueueRef(String);

impl QueueRef {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let name = if s.starts_with("https://") || s.starts_with("http://") {
            s.rsplit('/').next().unwrap_or_default()
        } else {
            s
        };
        // SQS's own rule: 1 to 80 characters, letters, digits, '-' and '_', with '.fifo'
        // allowed as the suffix of a FIFO queue.
        let stem = name.strip_suffix(".fifo").unwrap_or(name);
        let valid = !stem.is_empty()
            && name.len() <= 80
            && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(ParseError::new(
                "queue",
                "must be an SQS queue URL or a queue name of 1 to 80 letters, digits, '-', '_' (optionally ending in '.fifo')",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The queue's name (the URL's last segment, or the whole value).
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    pub fn is_url(&self) -> bool {
        self.0.contains("://")
    }

    pub fn is_fifo(&self) -> bool {
        self.name().ends_with(".fifo")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QueueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for QueueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QueueRef({})", self.0)
    }
}

impl<'de> Deserialize<'de> for QueueRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_ids_round_trip_and_reject_garbage() {
        let id = WebhookId::generate();
        assert_eq!(WebhookId::parse(&id.to_string()).unwrap(), id);
        assert_eq!(WebhookId::parse("nope").unwrap_err().field, "webhookId");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<WebhookId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<WebhookId>("\"x\"").is_err());
    }

    #[test]
    fn ids_sort_by_creation() {
        let a = EventId::generate();
        let b = EventId::generate();
        assert!(a < b);
    }

    #[test]
    fn delivery_ids_are_stable_per_event_and_target() {
        let e = EventId::generate();
        let t1 = *BindingId::generate().as_uuid();
        let t2 = *BindingId::generate().as_uuid();
        assert_eq!(DeliveryId::derive(&e, &t1), DeliveryId::derive(&e, &t1));
        assert_ne!(DeliveryId::derive(&e, &t1), DeliveryId::derive(&e, &t2));
        assert_ne!(DeliveryId::derive(&EventId::generate(), &t1), DeliveryId::derive(&e, &t1));
    }

    #[test]
    fn location_ids_are_url_safe() {
        assert!(LocationId::parse("orgId", "acme-01_x.y~z").is_ok());
        for bad in ["", "a/b", "a b", "a?b", "é", &"x".repeat(129)] {
            assert!(LocationId::parse("orgId", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn queue_refs_accept_names_and_urls() {
        let q = QueueRef::parse("https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo").unwrap();
        assert_eq!(q.name(), "orders.fifo");
        assert!(q.is_fifo() && q.is_url());
        let q = QueueRef::parse("process-start_1").unwrap();
        assert_eq!(q.name(), "process-start_1");
        assert!(!q.is_fifo() && !q.is_url());
        for bad in ["", ".fifo", "a b", "a/b", "https://x/", &"q".repeat(81)] {
            assert!(QueueRef::parse(bad).is_err(), "{bad:?}");
        }
    }
}
