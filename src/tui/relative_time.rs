//! Times for people: the console writes "2m ago" (or "in 4m") where the core writes RFC 3339
//! stamps with nanoseconds (`2026-01-01T13:39:47.301566815Z`), which an operator has to work out.

use regex::Regex;
use std::sync::OnceLock;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An RFC 3339 time, with the "at " before it (the age replaces both: "changed 2m ago").
fn stamp() -> Option<&'static Regex> {
    static STAMP: OnceLock<Option<Regex>> = OnceLock::new();
    STAMP
        .get_or_init(|| {
            Regex::new(r"(?:\bat )?(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))").ok()
        })
        .as_ref()
}

/// "12s ago", "3m ago", "2h ago", "5d ago"; a time ahead of `now` reads "in 3m".
pub fn age(at: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (now - at).whole_seconds();
    let span = |secs: i64| match secs {
        0..=119 => format!("{secs}s"),
        120..=7199 => format!("{}m", secs / 60),
        7200..=172_799 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    };
    if secs >= 0 {
        format!("{} ago", span(secs))
    } else {
        format!("in {}", span(-secs))
    }
}

/// `text` with every RFC 3339 time in it written relative to `now`.
pub fn relative(text: &str, now: OffsetDateTime) -> String {
    let Some(stamp) = stamp() else { return text.to_string() };
    stamp
        .replace_all(text, |found: &regex::Captures<'_>| match OffsetDateTime::parse(&found[1], &Rfc3339) {
            Ok(at) => age(at, now),
            Err(_) => found[0].to_string(),
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn stamps_read_relative() {
        let now = datetime!(2026-01-01 13:42:00 UTC);
        let text = "the capacity last changed at 2026-01-01T13:39:47.301566815Z; the cooldown ends in 4m";
        assert_eq!(relative(text, now), "the capacity last changed 2m ago; the cooldown ends in 4m");
        assert_eq!(relative("Last change  2026-01-01T14:00:00+00:00 (x)", now), "Last change  in 18m (x)");
        assert_eq!(relative("no time here", now), "no time here");
        assert_eq!(age(now - time::Duration::days(3), now), "3d ago");
    }
}
