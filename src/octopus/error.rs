//! Typed Octopus client errors. Each names the request (method and API path) and carries the
//! server's `ErrorMessage` when it sent one; never the API key, never the full URL's host.

use std::fmt;
use std::time::Duration;
use thiserror::Error;

/// The request an error is about: `GET /api/Spaces-1/machines`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: &'static str,
    pub path: String,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// ": <server message>" or nothing.
fn said(message: &Option<String>) -> String {
    message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum OctopusError {
    #[error("{call}: the API key was rejected (401 Unauthorized){}", said(.message))]
    Unauthorized { call: Call, message: Option<String> },
    #[error("{call}: the API key lacks permission (403 Forbidden){}", said(.message))]
    Forbidden { call: Call, message: Option<String> },
    #[error("{call}: not found (404){}", said(.message))]
    NotFound { call: Call, message: Option<String> },
    #[error("{call}: throttled by the server (429){}{}", .retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default(), said(.message))]
    Throttled { call: Call, retry_after: Option<Duration>, message: Option<String> },
    #[error("{call}: server error ({status}){}", said(.message))]
    Server { call: Call, status: u16, message: Option<String> },
    /// 400/409 and other client errors: the server refused the request as sent.
    #[error("{call}: rejected by the server ({status}){}", said(.message))]
    Rejected { call: Call, status: u16, message: Option<String> },
    #[error("{call}: unexpected answer: {detail}")]
    BadResponse { call: Call, detail: String },
    #[error("{call}: no complete answer within {}s", .after.as_secs())]
    Timeout { call: Call, after: Duration },
    #[error("{call}: cannot connect to the Octopus server: {detail}")]
    Connect { call: Call, detail: String },
    /// The connection broke after the request was sent: the server may have acted on it.
    #[error("{call}: the connection was lost before the answer arrived: {detail}")]
    ConnectionLost { call: Call, detail: String },
    /// A 3xx: no redirect is followed, so the API key never leaves the configured origin and a
    /// listing read elsewhere never passes for a complete one.
    #[error("{call}: the server redirected to {location} ({status}); scaleguard follows no redirects, so the API key stays with the configured origin: set octopus.url to the server's real address")]
    Redirected { call: Call, status: u16, location: String },
    /// A configured name (space, environment, project) does not exist on the server.
    #[error("{what} `{name}` was not found on the Octopus server")]
    UnknownName { what: &'static str, name: String },
    #[error("invalid Octopus configuration: {0}")]
    Config(String),
    /// An id (from the server, the journal or a flag) that is not shaped like an Octopus id: it
    /// is never put into a request path, where it could name another resource.
    #[error("the {what} id `{id}` is not an Octopus id (like Machines-12), so no request is made with it")]
    NotAnId { what: &'static str, id: String },
}

impl OctopusError {
    /// The request this error is about, when there is one.
    pub fn call(&self) -> Option<&Call> {
        match self {
            Self::Unauthorized { call, .. }
            | Self::Forbidden { call, .. }
            | Self::NotFound { call, .. }
            | Self::Throttled { call, .. }
            | Self::Server { call, .. }
            | Self::Rejected { call, .. }
            | Self::BadResponse { call, .. }
            | Self::Timeout { call, .. }
            | Self::Connect { call, .. }
            | Self::ConnectionLost { call, .. }
            | Self::Redirected { call, .. } => Some(call),
            Self::UnknownName { .. } | Self::Config(_) | Self::NotAnId { .. } => None,
        }
    }

    /// A short name for the kind of failure ("unauthorized", "timeout", ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound { .. } => "not found",
            Self::Throttled { .. } => "throttled",
            Self::Server { .. } => "server error",
            Self::Rejected { .. } => "rejected",
            Self::BadResponse { .. } => "bad response",
            Self::Timeout { .. } => "timeout",
            Self::Connect { .. } => "connection failed",
            Self::ConnectionLost { .. } => "connection lost",
            Self::Redirected { .. } => "redirected",
            Self::UnknownName { .. } => "unknown name",
            Self::Config(_) => "configuration",
            Self::NotAnId { .. } => "not an id",
        }
    }

    /// Could the server have acted on the request this error ends? False only when it certainly
    /// did not: the connection was never made, the server refused the request (4xx, including a
    /// 429 throttle and a redirect), or the client never sent it. A 5xx, a timeout, a connection
    /// lost after sending, or an unreadable 2xx may all follow a change that was made.
    pub fn may_have_acted(&self) -> bool {
        match self {
            Self::Server { .. }
            | Self::Timeout { .. }
            | Self::ConnectionLost { .. }
            | Self::BadResponse { .. } => true,
            Self::Unauthorized { .. }
            | Self::Forbidden { .. }
            | Self::NotFound { .. }
            | Self::Throttled { .. }
            | Self::Rejected { .. }
            | Self::Connect { .. }
            | Self::Redirected { .. }
            | Self::UnknownName { .. }
            | Self::Config(_)
            | Self::NotAnId { .. } => false,
        }
    }

    /// Map an HTTP error status to its typed error.
    pub(crate) fn from_status(
        call: Call,
        status: u16,
        message: Option<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        // The server's words: a hostile or careless one may quote the key, or send megabytes.
        let message = message.as_deref().map(crate::untrusted::server_text);
        match status {
            401 => Self::Unauthorized { call, message },
            403 => Self::Forbidden { call, message },
            404 => Self::NotFound { call, message },
            429 => Self::Throttled { call, retry_after, message },
            500..=599 => Self::Server { call, status, message },
            _ => Self::Rejected { call, status, message },
        }
    }
}
