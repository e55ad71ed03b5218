//! The log file, `<data dir>/scaleguard.log` (0600), at the level `SCALEGUARD_LOG` asks for.
//!
//! Two guards keep credentials out of it, whatever the level:
//! - Only scaleguard's own events are kept below INFO. Other crates' debug and trace events print
//!   whole requests: azure_core 0.21's transport policy logs each request with `{:#?}`, and its
//!   `Headers` Debug shows the `Authorization` header in clear (it redacts every header but that
//!   one); its custom-headers policy traces header values; reqwest's verbose connection mode
//!   traces raw bytes; azure_identity's federated flow logs token-endpoint bodies. Their INFO and
//!   above carry no request contents.
//! - Every line passes through [`crate::secret::scrub`] on its way to the file, so a secret that
//!   reaches an event anyway (a server quoting it in an error we log) is written as `<redacted>`.

use std::io::Write;
use std::path::Path;
use tracing::{Level, Metadata};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::{filter_fn, EnvFilter, FilterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The environment variable holding the level (`debug`) or directives (`scaleguard::executor=trace`).
pub const LEVEL_ENV: &str = "SCALEGUARD_LOG";
pub const FILE_NAME: &str = "scaleguard.log";

/// Lines waiting for the writer thread. The queue is allocated whole up front: the appender's
/// default of 128,000 is 4 MB of the console's memory, for a log that writes a few lines a refresh.
const BUFFERED_LINES: usize = 8_192;

/// Log to `dir`/scaleguard.log at `SCALEGUARD_LOG` (else `default_level`). Keep the guard alive
/// until the program ends: dropping it flushes. None when the file cannot be opened or a
/// subscriber is already set.
pub fn init(dir: &Path, default_level: &str) -> Option<WorkerGuard> {
    let file = crate::private_fs::open(&dir.join(FILE_NAME), |o| o.create(true).append(true)).ok()?;
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(BUFFERED_LINES)
        .finish(Scrubbing(file));
    let requested = EnvFilter::try_from_env(LEVEL_ENV).unwrap_or_else(|_| EnvFilter::new(default_level));
    let layer = tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(false).with_filter(
        requested.and(filter_fn(|metadata: &Metadata<'_>| kept(metadata.target(), metadata.level()))),
    );
    tracing_subscriber::registry().with(layer).try_init().ok()?;
    Some(guard)
}

/// Whether `SCALEGUARD_LOG` is set: headless commands log only when asked to.
pub fn requested() -> bool {
    std::env::var_os(LEVEL_ENV).is_some_and(|value| !value.is_empty())
}

/// scaleguard's events at any level; everyone else's at INFO and above only.
fn kept(target: &str, level: &Level) -> bool {
    is_ours(target) || *level <= Level::INFO
}

fn is_ours(target: &str) -> bool {
    target == "scaleguard" || target.starts_with("scaleguard::")
}

/// A writer that scrubs each write. The non-blocking appender hands it one whole event per write,
/// so a secret is never split between two calls.
struct Scrubbing<W>(W);

impl<W: Write> Write for Scrubbing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(&crate::secret::scrub_bytes(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn third_party_debug_is_dropped_and_ours_kept() {
        assert!(!kept("azure_core::policies::transport", &Level::DEBUG));
        assert!(!kept("reqwest::connect", &Level::TRACE));
        assert!(!kept("scaleguard_lookalike", &Level::DEBUG));
        assert!(kept("azure_core::policies::transport", &Level::WARN));
        assert!(kept("hyper_util::client", &Level::INFO));
        assert!(kept("scaleguard::executor", &Level::TRACE));
        assert!(kept("scaleguard", &Level::DEBUG));
    }

    #[test]
    fn each_write_is_scrubbed() {
        crate::secret::remember("log-secret-0123456789");
        let mut out = Scrubbing(Vec::new());
        out.write_all(b"DEBUG request Authorization: Bearer log-secret-0123456789\n").unwrap();
        let text = String::from_utf8(out.0).unwrap();
        assert_eq!(text, "DEBUG request Authorization: Bearer <redacted>\n");
    }
}
