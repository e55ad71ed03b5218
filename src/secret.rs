//! A secret value (API key, bearer token, client secret) that never prints itself.

use std::fmt;

/// Holds a secret. `Debug` and `Display` redact; the value is reachable only via `expose`,
/// which call sites use exactly where the secret goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let secret = Secret::new("API-TOPSECRET");
        assert!(!format!("{secret:?} {secret}").contains("TOPSECRET"));
        assert_eq!(secret.expose(), "API-TOPSECRET");
    }
}
