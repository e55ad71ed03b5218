//! A secret value (API key, bearer token, client secret) that never prints itself, and the
//! process-wide list of secret values every output edge scrubs.
//!
//! `Debug`/`Display` redaction protects the value while it sits in our types; it cannot help once
//! a server quotes the value back in an error body or a third-party crate logs a request. So each
//! secret the process holds is also remembered here, and everything scaleguard prints, journals,
//! logs or draws passes through [`scrub`] on its way out.

use aho_corasick::{AhoCorasick, MatchKind};
use std::borrow::Cow;
use std::fmt;
use std::sync::RwLock;

/// What a scrubbed secret is replaced with (the same word `Secret`'s `Display` shows).
pub const REDACTED: &str = "<redacted>";

/// Values shorter than this are not scrubbed: replacing every "abc" in the output would garble it,
/// and a value that short protects nothing anyway.
pub const MIN_SCRUBBED_LEN: usize = 8;

/// Holds a secret. `Debug` and `Display` redact; the value is reachable only via `expose`,
/// which call sites use exactly where the secret goes on the wire. Creating one remembers the
/// value for [`scrub`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        remember(&value);
        Self(value)
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
        f.write_str(REDACTED)
    }
}

/// Every remembered secret in each form it may be written in: as is, JSON-escaped (journal and
/// history lines) and Debug-escaped (`?field` in log events), with one matcher over all of them
/// (ASCII case ignored, the longest match wins, so a secret that contains another is replaced
/// whole). Outputs run through it on every write (a 20 MB history file at 10,000 VMs among them),
/// so it searches all forms in one pass.
static KNOWN: RwLock<Known> = RwLock::new(Known { forms: Vec::new(), matcher: None });

struct Known {
    forms: Vec<String>,
    matcher: Option<AhoCorasick>,
}

/// Remember a secret value (a token a credential fetched, a key read from the environment) so
/// that [`scrub`] hides it wherever it shows up.
pub fn remember(value: &str) {
    let value = value.trim();
    if value.chars().count() < MIN_SCRUBBED_LEN {
        return;
    }
    let json = serde_json::to_string(value).unwrap_or_default();
    let debug = format!("{value:?}");
    let forms = [value.to_string(), unquote(&json), unquote(&debug)];
    let mut known = KNOWN.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    let before = known.forms.len();
    for form in forms {
        if !form.is_empty() && !known.forms.contains(&form) {
            known.forms.push(form);
        }
    }
    if known.forms.len() != before {
        // Should the automaton ever fail to build (it has size limits), `scrub` falls back to a
        // plain search of each form: never to printing a secret.
        known.matcher = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(&known.forms)
            .ok();
    }
}

fn unquote(quoted: &str) -> String {
    quoted.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(quoted).to_string()
}

/// `text` with every remembered secret replaced by [`REDACTED`]. Letters are compared without
/// regard to ASCII case: a server may echo a key in another case, and ids are shown in the
/// lower-case form they are compared in (keys and tokens are ASCII).
pub fn scrub(text: &str) -> Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    match &known.matcher {
        Some(matcher) if matcher.is_match(text) => {
            Cow::Owned(matcher.replace_all(text, &vec![REDACTED; known.forms.len()]))
        }
        Some(_) => Cow::Borrowed(text),
        None if known.forms.iter().any(|form| text.contains(form.as_str())) => {
            Cow::Owned(scrub_without_matcher(&known.forms, text))
        }
        None => Cow::Borrowed(text),
    }
}

/// The fallback when no automaton could be built: each form replaced where it appears as is.
fn scrub_without_matcher(forms: &[String], text: &str) -> String {
    forms.iter().fold(text.to_string(), |text, form| text.replace(form.as_str(), REDACTED))
}

/// Byte ranges of `text` where a remembered secret appears, in any ASCII case (for outputs that
/// cannot change length, like a terminal row).
pub fn occurrences(text: &str) -> Vec<std::ops::Range<usize>> {
    let known = KNOWN.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    match &known.matcher {
        Some(matcher) => matcher.find_iter(text).map(|found| found.range()).collect(),
        None => known
            .forms
            .iter()
            .flat_map(|form| text.match_indices(form.as_str()).map(|(at, found)| at..at + found.len()))
            .collect(),
    }
}

/// [`scrub`] for bytes that may not be UTF-8 (a log line, a file write).
pub fn scrub_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    let known = KNOWN.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    match &known.matcher {
        Some(matcher) if matcher.is_match(bytes) => {
            Cow::Owned(matcher.replace_all_bytes(bytes, &vec![REDACTED.as_bytes(); known.forms.len()]))
        }
        Some(_) => Cow::Borrowed(bytes),
        None if known.forms.is_empty() => Cow::Borrowed(bytes),
        // No automaton: scrub what can be read as text, and drop what cannot.
        None => match std::str::from_utf8(bytes) {
            Ok(_) => {
                Cow::Owned(scrub_without_matcher(&known.forms, &String::from_utf8_lossy(bytes)).into_bytes())
            }
            Err(_) => Cow::Owned(REDACTED.as_bytes().to_vec()),
        },
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

    #[test]
    fn a_created_secret_is_scrubbed_from_any_text() {
        let _key = Secret::new("API-SCRUBTEST0123456789");
        let echoed = "401: The API key 'API-SCRUBTEST0123456789' you provided was not valid.";
        assert_eq!(scrub(echoed), "401: The API key '<redacted>' you provided was not valid.");
        assert!(matches!(scrub("nothing secret here"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_secret_in_another_case_is_scrubbed_too() {
        // A server (or our own canonical forms: ids are compared lower-cased) may change its case.
        let _key = Secret::new("API-CASETEST0123456789");
        let lowered = "instance vmss_api-casetest0123456789 listed 2 times";
        assert_eq!(scrub(lowered), "instance vmss_<redacted> listed 2 times");
        assert_eq!(occurrences("x API-casetest0123456789"), vec![2..24]);
        let bytes = b"\xff api-casetest0123456789".to_vec();
        assert!(!String::from_utf8_lossy(&scrub_bytes(&bytes)).to_lowercase().contains("casetest"));
    }

    #[test]
    fn escaped_forms_are_scrubbed_too() {
        remember("tok\"en\\with-quotes");
        let json = serde_json::json!({"why": "server said tok\"en\\with-quotes"}).to_string();
        assert!(!scrub(&json).contains("with-quotes"), "{json}");
        let debug = format!("{:?}", "tok\"en\\with-quotes");
        assert!(!scrub(&debug).contains("with-quotes"), "{debug}");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_scrubbed() {
        remember("bytes-secret-42");
        let mut line = b"\xff bearer bytes-secret-42 \xfe".to_vec();
        line.extend_from_slice(b"bytes-secret-42");
        let scrubbed = scrub_bytes(&line);
        assert!(!String::from_utf8_lossy(&scrubbed).contains("bytes-secret-42"));
        assert_eq!(scrubbed.windows(REDACTED.len()).filter(|w| *w == REDACTED.as_bytes()).count(), 2);
    }

    #[test]
    fn short_values_are_not_scrubbed() {
        remember("abc");
        assert_eq!(scrub("abc abc"), "abc abc");
    }
}
