//! Text a server sent (an error message, an operation's failure detail), made fit to show:
//! known secrets scrubbed (a server may quote the key or token it was sent), control characters
//! replaced (a newline could forge a line of output, an escape could drive the terminal), and the
//! length capped (one error must not print megabytes).

/// The most characters of server text an error carries.
pub const SERVER_TEXT_MAX_CHARS: usize = 300;

/// `text` scrubbed, on one line, at most [`SERVER_TEXT_MAX_CHARS`] characters plus a note of how
/// many were left out.
pub fn server_text(text: &str) -> String {
    let scrubbed = crate::secret::scrub(text.trim());
    let total = scrubbed.chars().count();
    let mut out: String =
        scrubbed.chars().take(SERVER_TEXT_MAX_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if total > SERVER_TEXT_MAX_CHARS {
        out.push_str(&format!("… ({} more characters)", total - SERVER_TEXT_MAX_CHARS));
    }
    out
}

/// Why a body that should be JSON did not parse: an HTML page (a proxy's sign-in page, whatever
/// its Content-Type claims) is named as one; anything else gets the parser's own words.
pub fn not_json(body: &[u8], err: &serde_json::Error) -> String {
    let start = body.iter().position(|b| !b.is_ascii_whitespace()).map_or(&[][..], |at| &body[at..]);
    if start.first() == Some(&b'<') {
        "the body is an HTML page, not JSON: a proxy or sign-in page may be answering in the server's place"
            .into()
    } else {
        format!("the body is not the expected JSON ({err})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_html_body_is_named_whatever_it_claims_to_be() {
        let err = serde_json::from_slice::<serde_json::Value>(b"x").unwrap_err();
        assert!(not_json(b" \n<!DOCTYPE html><html>", &err).contains("HTML page"));
        assert!(not_json(b"x", &err).starts_with("the body is not the expected JSON (expected value"));
    }

    #[test]
    fn long_text_is_capped_and_says_how_much_was_left_out() {
        let text = server_text(&"x".repeat(1 << 20));
        assert!(text.chars().count() < SERVER_TEXT_MAX_CHARS + 40, "{} chars", text.len());
        assert!(text.ends_with(&format!("({} more characters)", (1 << 20) - SERVER_TEXT_MAX_CHARS)));
    }

    #[test]
    fn control_characters_cannot_forge_lines_or_escapes() {
        assert_eq!(server_text("bad\nscaleguard: done\x1b[2J"), "bad scaleguard: done [2J");
    }

    #[test]
    fn known_secrets_are_scrubbed_before_the_cut() {
        crate::secret::remember("sim-arm-UNTRUSTEDTESTTOKEN");
        // The secret straddles the cut: cutting first would show its first characters.
        let text = format!("{} token 'sim-arm-UNTRUSTEDTESTTOKEN'", "y".repeat(287));
        let shown = server_text(&text);
        assert!(!shown.contains("sim-"), "{shown}");
    }
}
