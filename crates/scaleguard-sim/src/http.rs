//! Plumbing shared by the ARM, Octopus and control handlers: the parsed request, the reply,
//! and time formatting.

use axum::body::Body;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use futures::StreamExt;
use serde_json::Value;
use time::OffsetDateTime;

pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// A `truncated_page` fault: drop nextLink / Page.Next from this answer.
    pub truncate_page: bool,
    /// A fault that reshapes this ARM answer.
    pub arm_shape: Option<super::faults::ArmShape>,
    /// A fault that reshapes this Octopus answer.
    pub octopus_shape: Option<super::faults::OctopusShape>,
    /// A `lying_total` fault: inflate `TotalResults`, answer a `skip` past the end with the last page.
    pub lying_total: bool,
    /// An `ignore_skip` fault: serve the first page whatever `skip` says.
    pub ignore_skip: bool,
}

impl Request {
    /// Query parameter by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Path segments, empty ones dropped (`/api//x` = `/api/x`, as servers are lenient).
    pub fn segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }

    pub fn json_body<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_slice(&self.body).map_err(|err| format!("the request body is not valid JSON: {err}"))
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// An XML document instead of JSON (the AWS query protocols).
    pub xml: Option<String>,
}

impl Reply {
    pub fn json(status: StatusCode, body: Value) -> Self {
        Self { status, headers: Vec::new(), body: Some(body), xml: None }
    }
    pub fn xml(status: StatusCode, document: String) -> Self {
        Self { status, headers: Vec::new(), body: None, xml: Some(document) }
    }
    pub fn ok(body: Value) -> Self {
        Self::json(StatusCode::OK, body)
    }
    pub fn empty(status: StatusCode) -> Self {
        Self { status, headers: Vec::new(), body: None, xml: None }
    }
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Build the HTTP response; `malformed` cuts the JSON (or XML) short (a `malformed_json` fault).
    pub fn into_response(self, malformed: bool) -> Response {
        let is_xml = self.xml.is_some();
        let mut text = match (&self.xml, &self.body) {
            (Some(xml), _) => xml.clone(),
            (None, body) => body.as_ref().map(|body| body.to_string()).unwrap_or_default(),
        };
        if malformed {
            let cut = (text.len() / 2).max(1).min(text.len());
            text.truncate(cut);
            if text.is_empty() {
                text.push('{');
            }
        }
        let mut response = Response::new(Body::from(text.clone()));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if is_xml {
            headers.insert("content-type", HeaderValue::from_static("text/xml"));
        } else if self.body.is_some() || malformed {
            headers.insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
        }
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) =
                (axum::http::HeaderName::try_from(name), HeaderValue::try_from(value))
            {
                headers.append(name, value);
            }
        }
        response
    }
}

/// Send the status and headers now and the body after `wait` (a `slow_body` fault).
pub fn delay_body(response: Response, wait: std::time::Duration) -> Response {
    let (parts, body) = response.into_parts();
    let delayed = futures::stream::once(async move {
        tokio::time::sleep(wait).await;
        body.into_data_stream()
    })
    .flatten();
    Response::from_parts(parts, Body::from_stream(delayed))
}

/// `2026-11-23T09:43:00.123+00:00`, the offset form both servers use.
pub fn format_time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+00:00"
    );
    at.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_default()
}

/// Split a raw query string into decoded pairs.
pub fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|raw| url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect()).unwrap_or_default()
}
