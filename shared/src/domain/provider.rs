//! [`Provider`]: an entry of the provider catalog, by index. Its name is what the API
//! reads and writes; its URL segment is the lower-case name with `-` for `_`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::provider_catalog::CATALOG;
use super::provider_spec::ProviderSpec;

/// Who calls the webhook, and so how its requests are authenticated. Fixed once saved.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Provider(u16);

impl Provider {
    /// The provider with this upper-case name; in a `const` an unknown name fails the build.
    pub const fn named(name: &str) -> Self {
        match Self::find(name) {
            Some(p) => p,
            None => panic!("no such provider in the catalog"),
        }
    }

    const fn find(name: &str) -> Option<Self> {
        let mut i = 0;
        while i < CATALOG.len() {
            if eq(CATALOG[i].name.as_bytes(), name.as_bytes()) {
                return Some(Self(i as u16));
            }
            i += 1;
        }
        None
    }

    pub const GENERIC: Self = Self::named("GENERIC");
    pub const GENERIC_HMAC: Self = Self::named("GENERIC_HMAC");

    pub fn parse(name: &str) -> Option<Self> {
        Self::find(name)
    }

    /// Every provider, in catalog order.
    pub fn all() -> impl Iterator<Item = Self> {
        (0..CATALOG.len()).map(|i| Self(i as u16))
    }

    pub fn spec(self) -> &'static ProviderSpec {
        &CATALOG[self.0 as usize]
    }

    /// The upper-case name (`STANDARD_WEBHOOKS`).
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The provider's segment in the ingress URL: lower case, `-` for `_`.
    pub fn path_segment(self) -> String {
        self.name().to_ascii_lowercase().replace('_', "-")
    }

    /// The provider whose URL segment this is (exactly: lower case, `-` for `_`).
    pub fn from_path_segment(s: &str) -> Option<Self> {
        Self::all().find(|p| {
            let name = p.name().as_bytes();
            name.len() == s.len()
                && name.iter().zip(s.bytes()).all(|(&n, c)| match n {
                    b'_' => c == b'-',
                    n => n.to_ascii_lowercase() == c,
                })
        })
    }
}

const fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Provider {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Provider {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown provider {s:?} (GET /v1/providers lists them)")))
    }
}

impl utoipa::PartialSchema for Provider {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .description(Some("The provider's upper-case name: an entry of `GET /v1/providers`."))
            .enum_values(Some(Self::all().map(|p| p.name())))
            .into()
    }
}

impl utoipa::ToSchema for Provider {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_path_segments() {
        let sw = Provider::named("STANDARD_WEBHOOKS");
        assert_eq!(Provider::GENERIC.path_segment(), "generic");
        assert_eq!(sw.path_segment(), "standard-webhooks");
        assert_eq!(Provider::from_path_segment("standard-webhooks"), Some(sw));
        assert_eq!(Provider::from_path_segment("generic"), Some(Provider::GENERIC));
        assert_eq!(Provider::from_path_segment("GENERIC"), None);
        assert_eq!(Provider::from_path_segment("standard_webhooks"), None);
        assert_eq!(Provider::from_path_segment("standard-webhook"), None);
        for p in Provider::all() {
            assert_eq!(Provider::from_path_segment(&p.path_segment()), Some(p));
            assert_eq!(Provider::parse(p.name()), Some(p));
        }
        assert_eq!(serde_json::to_string(&Provider::GENERIC).unwrap(), "\"GENERIC\"");
        assert_eq!(serde_json::from_str::<Provider>("\"CAL_COM\"").unwrap().path_segment(), "cal-com");
        assert!(serde_json::from_str::<Provider>("\"NOPE\"").unwrap_err().to_string().contains("/v1/providers"));
    }

    /// The catalog's names are unique, upper case with `_`, and every entry links its docs.
    #[test]
    fn the_catalog_is_well_formed() {
        let names: std::collections::HashSet<_> = CATALOG.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), CATALOG.len());
        assert!(CATALOG.len() >= 80, "{} presets", CATALOG.len());
        for s in CATALOG {
            assert!(s.name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'), "{}", s.name);
            // The provider's own page; ours for the two that are hookbridge's.
            assert!(s.docs.starts_with("https://") || s.docs.starts_with("README.md#"), "{}", s.name);
        }
    }
}
