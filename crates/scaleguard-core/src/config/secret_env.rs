//! Secrets from the environment: the variable the config names, checked for characters no key or
//! token has before any request could carry them.

use super::ConfigError;
use crate::secret::Secret;

/// Read a secret from an environment variable; empty counts as missing. A character no key or
/// token has (a line break, a space, a control or non-ASCII character) is refused here, naming
/// the variable and the character, before any request could carry it.
pub fn read_secret_env(var: &str, key: &str) -> Result<Secret, ConfigError> {
    let malformed =
        |what: String| ConfigError::MalformedSecret { var: var.to_string(), key: key.to_string(), what };
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => match value.trim().chars().find(|c| !c.is_ascii_graphic()) {
            Some(bad) => Err(malformed(describe_char(bad))),
            None => Ok(Secret::new(value.trim().to_string())),
        },
        Err(std::env::VarError::NotUnicode(_)) => Err(malformed("bytes that are not UTF-8".into())),
        _ => Err(ConfigError::MissingSecret { var: var.to_string(), key: key.to_string() }),
    }
}

/// "a line feed (U+000A)": the character by name and code, never shown itself.
fn describe_char(c: char) -> String {
    let name = match c {
        '\n' => "a line feed",
        '\r' => "a carriage return",
        '\t' => "a tab",
        ' ' => "a space",
        c if c.is_control() => "a control character",
        _ => "a non-ASCII character",
    };
    format!("{name} (U+{:04X})", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_with_a_character_no_key_has_is_refused_by_name() {
        for (value, what) in [
            ("API-ABC\nDEF", "a line feed (U+000A)"),
            ("API-ABC DEF", "a space (U+0020)"),
            ("API-ABC\u{7f}DEF", "a control character (U+007F)"),
            ("API-ABC\u{201c}DEF", "a non-ASCII character (U+201C)"),
        ] {
            std::env::set_var("SCALEGUARD_TEST_MALFORMED_SECRET", value);
            let err = read_secret_env("SCALEGUARD_TEST_MALFORMED_SECRET", "octopus.api_key_env").unwrap_err();
            let text = err.to_string();
            assert!(text.contains("SCALEGUARD_TEST_MALFORMED_SECRET") && text.contains(what), "{text}");
            assert!(!text.contains("ABC") && !text.contains("DEF"), "{text}");
        }
        // Surrounding whitespace (a trailing newline from `$(cat file)`) is not part of the key.
        std::env::set_var("SCALEGUARD_TEST_MALFORMED_SECRET", " API-ABCDEF\n");
        let key = read_secret_env("SCALEGUARD_TEST_MALFORMED_SECRET", "octopus.api_key_env").unwrap();
        assert_eq!(key.expose(), "API-ABCDEF");
        std::env::remove_var("SCALEGUARD_TEST_MALFORMED_SECRET");
    }
}
