//! Writers that scrub remembered secrets (`secret::scrub_bytes`) from what passes through them on
//! the way out: for outputs written as they are produced, never held whole.

/// A writer that scrubs secrets from each whole line before passing it on. serde_json writes a
/// string in several pieces, so a secret may be split between writes; in JSON no string spans a
/// line break (one is written `\n`), so a whole line holds every secret it contains.
pub struct LineScrubbing<W: std::io::Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: std::io::Write> LineScrubbing<W> {
    pub fn new(inner: W) -> Self {
        LineScrubbing { inner, line: Vec::new() }
    }
}

impl<W: std::io::Write> std::io::Write for LineScrubbing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..=end]);
            self.inner.write_all(&crate::secret::scrub_bytes(&self.line))?;
            self.line.clear();
            rest = &rest[end + 1..];
        }
        self.line.extend_from_slice(rest);
        Ok(buf.len())
    }

    /// A partial line is written only at a flush: the end of the output.
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.write_all(&crate::secret::scrub_bytes(&self.line))?;
        self.line.clear();
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn streamed_json_is_scrubbed_when_a_secret_is_split_between_writes() {
        let _key = crate::secret::Secret::new("API-STREAMSECRET0123456789");
        let mut out = LineScrubbing::new(Vec::new());
        for piece in ["{\n  \"name\": \"api-stream", "SECRET01234", "56789\"\n}", "\n"] {
            out.write_all(piece.as_bytes()).unwrap();
        }
        out.flush().unwrap();
        let text = String::from_utf8(out.inner).unwrap();
        assert!(!text.to_lowercase().contains("streamsecret"), "{text}");
        assert_eq!(text.lines().count(), 3, "{text}");
    }
}
