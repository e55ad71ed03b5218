//! Text a server sent (an error message, an operation's failure detail), made fit to show:
//! known secrets scrubbed (a server may quote the key or token it was sent), control characters
//! replaced (a newline could forge a line of output, an escape could drive the terminal), and the
//! length capped (one error must not print megabytes).

/// The most characters of server text an error carries.
pub const SERVER_TEXT_MAX_CHARS: usize = 300;

/// `text` scrubbed, on one line, at most [`SERVER_TEXT_MAX_CHARS`] characters plus a note of how
/// many were left out.
pub fn server_text(text: &str) -> String {
    let line = one_line(text.trim());
    let total = line.chars().count();
    if total <= SERVER_TEXT_MAX_CHARS {
        return line;
    }
    let mut out: String = line.chars().take(SERVER_TEXT_MAX_CHARS).collect();
    out.push_str(&format!("… ({} more characters)", total - SERVER_TEXT_MAX_CHARS));
    out
}

/// `text` fit for one line of output, whatever its length: known secrets scrubbed (in any ASCII
/// case), control characters replaced by spaces (a newline could forge a line of output, an
/// escape could drive the terminal). For every name and sentence a server supplied.
pub fn one_line(text: &str) -> String {
    // A control character inside a secret would split it past the scrub and then print as a
    // space: judge the text without them first, and show that form if a secret was in it.
    let without_controls: String = text.chars().filter(|c| !c.is_control()).collect();
    let scrubbed = match crate::secret::scrub(&without_controls) {
        std::borrow::Cow::Owned(scrubbed) => scrubbed,
        std::borrow::Cow::Borrowed(_) => text.to_string(),
    };
    scrubbed.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
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
    fn a_control_character_inside_a_secret_does_not_hide_it_from_the_scrub() {
        let _token = crate::secret::Secret::new("sim-arm-CTRLSPLIT0123456789");
        let shown = server_text("VM sim-arm-CTRL\u{7}SPLIT0123456789 reports another set");
        assert!(!shown.contains("SPLIT0123456789"), "{shown}");
        assert!(!shown.chars().any(char::is_control), "{shown}");
        // Ordinary text keeps its words apart where a control character stood.
        assert_eq!(server_text("line one\nline two"), "line one line two");
    }

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
