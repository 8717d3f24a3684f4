//! Secret values that cannot leak by accident: no `Debug`/`Display` of the content, and
//! comparisons in constant time.

use std::fmt;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// A secret string. `Debug` prints a placeholder; read it with [`SecretString::expose`].
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is sent, signed with or stored.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time equality (length included): the time taken does not depend on where
    /// the first differing byte is.
    pub fn ct_eq(&self, candidate: &[u8]) -> bool {
        ct_eq(self.0.as_bytes(), candidate)
    }
}

/// Constant-time comparison of two byte strings; unequal lengths are unequal (the length
/// itself is not secret for fixed-size keys and signatures).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let s = SecretString::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "SecretString(***)");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
    }

    #[test]
    fn ct_eq_needs_same_length_and_bytes() {
        let s = SecretString::new("abc");
        assert!(s.ct_eq(b"abc"));
        assert!(!s.ct_eq(b"abd"));
        assert!(!s.ct_eq(b"ab"));
        assert!(!s.ct_eq(b""));
        assert!(!s.ct_eq(b"abcd"));
    }
}
