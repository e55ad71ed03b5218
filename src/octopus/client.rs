//! The Octopus REST client: one HTTP exchange with retries (`send`), paging (`get_all`), and the
//! calls scaleguard makes, each returning domain types (deployments in `deployments.rs`).

use super::convert;
use super::error::{Call, OctopusError};
use super::ids::{checked, checked_node, is_octopus_id};
use super::paging::{Next, Pager, PagingError};
use super::wire::{self, Identified};
use super::{MachinePolicy, NodeChange, Resolved};
use crate::config::OctopusConfig;
use crate::model::{Node, Target, Task, TaskState};
use crate::retry::{parse_retry_after, Outcome, RequestKind, RetryPolicy};
use crate::secret::Secret;
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};

/// Items asked for per page. Octopus defaults to 30; bigger pages mean fewer requests.
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// Talks to one Octopus server with one API key.
#[derive(Clone)]
pub struct OctopusClient {
    http: reqwest::Client,
    /// Scheme, host and any virtual directory, without a trailing slash (`https://host/octopus`).
    base: String,
    api_key: Secret,
    timeout: Duration,
    retry: RetryPolicy,
    page_size: u32,
}

impl std::fmt::Debug for OctopusClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OctopusClient")
            .field("base", &self.base)
            .field("api_key", &self.api_key)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

pub(super) type Query = Vec<(&'static str, String)>;

impl OctopusClient {
    /// A client for the configured server; `api_key` comes from the env var the config names.
    pub fn new(config: &OctopusConfig, api_key: Secret) -> Result<Self, OctopusError> {
        let url = url::Url::parse(config.url.trim()).map_err(|err| {
            OctopusError::Config(format!("octopus.url `{}` is not a URL ({err})", config.url))
        })?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(OctopusError::Config(format!(
                "octopus.url scheme `{}` is not http(s)",
                url.scheme()
            )));
        }
        let mut base = url.as_str().trim_end_matches('/').to_string();
        // A base URL given as `.../api` would otherwise become `.../api/api/...`.
        if base.ends_with("/api") {
            base.truncate(base.len() - 4);
        }
        let timeout = Duration::from_secs(config.timeout_secs.max(1));
        let http = reqwest::Client::builder()
            // No redirect is ever followed: reqwest keeps custom headers such as
            // X-Octopus-ApiKey on a redirect to another host, and a listing read elsewhere must
            // not pass for this server's. A 3xx becomes an error naming where it pointed.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|err| OctopusError::Config(format!("cannot build the HTTP client: {err}")))?;
        let retry = RetryPolicy { total_deadline: timeout * 2, ..RetryPolicy::default() };
        Ok(Self { http, base, api_key, timeout, retry, page_size: DEFAULT_PAGE_SIZE })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    // ---- HTTP ---------------------------------------------------------------------------------

    /// One request, retried per [`RetryPolicy`]; returns the status and body of a 2xx answer.
    pub(super) async fn send(
        &self,
        method: Method,
        call: Call,
        query: &Query,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, Vec<u8>), OctopusError> {
        let path = call.path.split('?').next().unwrap_or_default().to_string();
        let url = self.url(&path, query)?;
        // Cancelling one task is harmless to repeat; any other POST creates something.
        let kind = if method == Method::POST && path.ends_with("/cancel") {
            RequestKind::GuardedWrite
        } else {
            RequestKind::of_method(method.as_str())
        };
        let started = Instant::now();
        let mut retry = 0;
        loop {
            retry += 1;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header("X-Octopus-ApiKey", self.api_key.expose())
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(body) = body {
                request = request.json(body);
            }
            let (outcome, error) = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    if (300..400).contains(&status) {
                        let location = response
                            .headers()
                            .get(reqwest::header::LOCATION)
                            .and_then(|v| v.to_str().ok())
                            .map_or_else(
                                || "an unnamed location".to_string(),
                                |l| origin_of(url.as_str(), l),
                            );
                        return Err(OctopusError::Redirected { call, status, location });
                    }
                    if (200..300).contains(&status) && matches!(method, Method::GET | Method::POST) {
                        if let Some(detail) = unreadable_body(response.headers()) {
                            return Err(OctopusError::BadResponse { call, detail });
                        }
                    }
                    match response.bytes().await {
                        // Taken over, not copied (a page of targets is hundreds of kilobytes).
                        Ok(bytes) if (200..300).contains(&status) => return Ok((status, Vec::from(bytes))),
                        Ok(bytes) => {
                            let message = serde_json::from_slice::<wire::ErrorBody>(&bytes)
                                .ok()
                                .and_then(|b| b.summary());
                            let error = OctopusError::from_status(call.clone(), status, message, retry_after);
                            (Outcome::Status { status, retry_after }, error)
                        }
                        Err(err) => self.transport_error(&call, &err),
                    }
                }
                Err(err) => self.transport_error(&call, &err),
            };
            match self.retry.next_delay(kind, outcome, retry, started.elapsed()) {
                Some(delay) => {
                    tracing::debug!(%call, retry, ?delay, "retrying after {}", error.kind());
                    tokio::time::sleep(delay).await;
                }
                None => return Err(error),
            }
        }
    }

    fn transport_error(&self, call: &Call, err: &reqwest::Error) -> (Outcome, OctopusError) {
        if err.is_timeout() {
            (Outcome::Timeout, OctopusError::Timeout { call: call.clone(), after: self.timeout })
        } else if err.is_connect() {
            (Outcome::Connect, OctopusError::Connect { call: call.clone(), detail: cause_chain(err) })
        } else {
            (Outcome::Io, OctopusError::ConnectionLost { call: call.clone(), detail: cause_chain(err) })
        }
    }

    /// The request URL: the base with each path segment percent-encoded (a segment never
    /// changes the path's shape), then the query.
    fn url(&self, path: &str, query: &Query) -> Result<url::Url, OctopusError> {
        let bad_base = || OctopusError::Config(format!("octopus.url `{}` cannot take a path", self.base));
        let mut url = url::Url::parse(&self.base).map_err(|_| bad_base())?;
        url.path_segments_mut()
            .map_err(|_| bad_base())?
            .pop_if_empty()
            .extend(path.split('/').filter(|s| !s.is_empty()));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        call: Call,
        query: &Query,
    ) -> Result<T, OctopusError> {
        let (_, bytes) = self.send(Method::GET, call.clone(), query, None).await?;
        parse(&call, &bytes)
    }

    /// Every item of a paged collection, proven complete (see [`Pager`]): pages by `skip` until
    /// `TotalResults` (or, without a total, until `Page.Next` is absent). A listing that changed
    /// while it was read is read once more; any other inconsistency is an error naming the page,
    /// never a shorter list and never an endless loop.
    pub(super) async fn get_all<T: DeserializeOwned + Identified>(
        &self,
        path: &str,
        query: &Query,
    ) -> Result<Vec<T>, OctopusError> {
        self.get_all_kept(path, query, Some).await
    }

    /// [`OctopusClient::get_all`], each page's items passed through `keep` as the page is read
    /// (what it returns is kept; None leaves the item out), so a listing of thousands is never
    /// held twice, as read and as kept. Paging is checked on the items as read.
    pub(super) async fn get_all_kept<T: DeserializeOwned + Identified, U>(
        &self,
        path: &str,
        query: &Query,
        mut keep: impl FnMut(T) -> Option<U>,
    ) -> Result<Vec<U>, OctopusError> {
        match self.get_all_once(path, query, &mut keep).await {
            Err(PagedError::Paging(call, err)) if err.worth_rereading() => {
                tracing::debug!(%call, "re-reading a listing that changed while paging: {err}");
                self.get_all_once(path, query, &mut keep).await.map_err(PagedError::into_error)
            }
            other => other.map_err(PagedError::into_error),
        }
    }

    async fn get_all_once<T: DeserializeOwned + Identified, U>(
        &self,
        path: &str,
        query: &Query,
        keep: &mut impl FnMut(T) -> Option<U>,
    ) -> Result<Vec<U>, PagedError> {
        let mut items = Vec::new();
        let mut pager = Pager::default();
        loop {
            let (call, page) = self.page::<T>(path, query, pager.skip(), self.page_size).await?;
            refuse_odd_ids(&call, &page.items)?;
            let next = pager
                .record(page.items.iter().map(Identified::id), page.total_results)
                .map_err(|err| PagedError::Paging(call, err))?;
            items.extend(page.items.into_iter().filter_map(&mut *keep));
            if next == Next::Done {
                // Grown by doubling: up to half of it would stay unused as long as it is kept.
                items.shrink_to_fit();
                return Ok(items);
            }
        }
    }

    /// One page of a collection at `skip`, and the call that names it in errors.
    pub(super) async fn page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Query,
        skip: u64,
        take: u32,
    ) -> Result<(Call, wire::Collection<T>), OctopusError> {
        let mut page_query = query.clone();
        page_query.push(("skip", skip.to_string()));
        page_query.push(("take", take.to_string()));
        let call = get_call(format!("{path}?skip={skip}&take={take}"));
        let page = self.get(call.clone(), &page_query).await?;
        Ok((call, page))
    }

    // ---- server, names ------------------------------------------------------------------------

    /// `GET /api`: the server's version (needs no key).
    pub async fn server_version(&self) -> Result<String, OctopusError> {
        let root: wire::RootResource = self.get(get_call("/api".into()), &Vec::new()).await?;
        Ok(root.version)
    }

    pub async fn resolve_space(&self, name_or_id: &str) -> Result<Resolved, OctopusError> {
        self.resolve("space", "/api/spaces", "Spaces-", name_or_id).await
    }

    pub async fn resolve_environment(
        &self,
        space_id: &str,
        name_or_id: &str,
    ) -> Result<Resolved, OctopusError> {
        let space_id = checked("space", space_id)?;
        self.resolve("environment", &format!("/api/{space_id}/environments"), "Environments-", name_or_id)
            .await
    }

    pub async fn resolve_project(&self, space_id: &str, name_or_id: &str) -> Result<Resolved, OctopusError> {
        let space_id = checked("space", space_id)?;
        self.resolve("project", &format!("/api/{space_id}/projects"), "Projects-", name_or_id).await
    }

    /// By id (`Spaces-1`: one GET) or by exact, case-insensitive name (or slug) over every page.
    async fn resolve(
        &self,
        what: &'static str,
        path: &str,
        id_prefix: &str,
        name_or_id: &str,
    ) -> Result<Resolved, OctopusError> {
        let wanted = name_or_id.trim();
        let unknown = || OctopusError::UnknownName { what, name: wanted.to_string() };
        if looks_like_id(wanted, id_prefix) {
            let found: wire::NamedResource = self
                .get(get_call(format!("{path}/{wanted}")), &Vec::new())
                .await
                .map_err(|err| match err {
                    OctopusError::NotFound { .. } => unknown(),
                    other => other,
                })?;
            checked(what, &found.id)?;
            return Ok(Resolved { id: found.id, name: found.name });
        }
        // partialName narrows the listing where supported; the exact match is made here.
        let all: Vec<wire::NamedResource> =
            self.get_all(path, &vec![("partialName", wanted.to_string())]).await?;
        all.into_iter()
            .find(|r| {
                r.name.eq_ignore_ascii_case(wanted)
                    || r.id.eq_ignore_ascii_case(wanted)
                    || r.slug.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(wanted))
            })
            .map(|r| Resolved { id: r.id, name: r.name })
            .ok_or_else(unknown)
    }

    // ---- targets ------------------------------------------------------------------------------

    /// Targets in the environment with *all* of `roles`. The server filter narrows the listing;
    /// environment and all-of roles are checked here because the server's `roles` is not all-of.
    pub async fn targets(
        &self,
        space_id: &str,
        environment_id: &str,
        roles: &[String],
    ) -> Result<Vec<Target>, OctopusError> {
        let space_id = checked("space", space_id)?;
        let mut query: Query = vec![("environmentIds", environment_id.to_string())];
        if !roles.is_empty() {
            query.push(("roles", roles.join(",")));
        }
        let mut repeated = convert::Repeated::default();
        let in_scope = |machine: wire::MachineResource| {
            let target = convert::target(machine, &mut repeated);
            let in_scope =
                target.environment_ids.iter().any(|e| e == environment_id) && target.has_all_roles(roles);
            in_scope.then_some(target)
        };
        let mut targets: Vec<Target> =
            self.get_all_kept(&format!("/api/{space_id}/machines"), &query, in_scope).await?;
        // A target registered while paging can shift a page and appear twice: the first stays.
        let distinct = targets.iter().map(|t| t.id.as_str()).collect::<std::collections::HashSet<_>>().len();
        if distinct < targets.len() {
            let mut seen = std::collections::HashSet::with_capacity(distinct);
            targets.retain(|t| seen.insert(t.id.clone()));
        }
        Ok(targets)
    }

    /// Is the target still registered? `GET machines/{id}`: found → true, 404 → false.
    pub async fn target_registered(&self, space_id: &str, machine_id: &str) -> Result<bool, OctopusError> {
        let (space_id, machine_id) = (checked("space", space_id)?, checked("target", machine_id)?);
        let call = get_call(format!("/api/{space_id}/machines/{machine_id}"));
        match self.get::<wire::MachineResource>(call, &Vec::new()).await {
            Ok(_) => Ok(true),
            Err(OctopusError::NotFound { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    pub async fn delete_target(&self, space_id: &str, machine_id: &str) -> Result<(), OctopusError> {
        let (space_id, machine_id) = (checked("space", space_id)?, checked("target", machine_id)?);
        let call = Call { method: "DELETE", path: format!("/api/{space_id}/machines/{machine_id}") };
        self.send(Method::DELETE, call, &Vec::new(), None).await.map(drop)
    }

    // ---- tasks --------------------------------------------------------------------------------

    pub async fn task(&self, task_id: &str) -> Result<Task, OctopusError> {
        let call = get_call(format!("/api/tasks/{}", checked("task", task_id)?));
        let raw: wire::TaskResource = self.get(call.clone(), &Vec::new()).await?;
        let state = raw.state.clone();
        convert::task(raw).ok_or_else(|| OctopusError::BadResponse {
            call,
            detail: format!("unknown task state `{state}`"),
        })
    }

    /// Tasks in any of `states`, optionally only those on one HA node; every page.
    pub async fn tasks(&self, node: Option<&str>, states: &[TaskState]) -> Result<Vec<Task>, OctopusError> {
        let mut query: Query = Vec::new();
        if let Some(node) = node {
            query.push(("node", node.to_string()));
        }
        if !states.is_empty() {
            query.push(("states", states.iter().map(TaskState::as_str).collect::<Vec<_>>().join(",")));
        }
        let raw: Vec<wire::TaskResource> = self.get_all("/api/tasks", &query).await?;
        Ok(raw
            .into_iter()
            .filter_map(convert::task)
            // Filter again here: a server that ignores a filter must not widen what we act on.
            .filter(|t| states.is_empty() || states.contains(&t.state))
            .filter(|t| node.is_none() || t.server_node.as_deref() == node)
            .collect())
    }

    pub async fn cancel_task(&self, task_id: &str) -> Result<(), OctopusError> {
        let call = Call { method: "POST", path: format!("/api/tasks/{}/cancel", checked("task", task_id)?) };
        self.send(Method::POST, call, &Vec::new(), None).await.map(drop)
    }

    // ---- HA nodes -----------------------------------------------------------------------------

    pub async fn nodes(&self) -> Result<Vec<Node>, OctopusError> {
        let summary: wire::NodeSummary =
            self.get(get_call("/api/octopusservernodes/summary".into()), &Vec::new()).await?;
        Ok(summary.nodes.into_iter().map(convert::node).collect())
    }

    /// Drain (maintenance mode) and/or task cap: GET the node, change only those fields, PUT it back,
    /// so fields this client does not know survive.
    pub async fn update_node(&self, node_id: &str, change: &NodeChange) -> Result<(), OctopusError> {
        let path = format!("/api/octopusservernodes/{}", checked_node(node_id)?);
        let mut node: serde_json::Value = self.get(get_call(path.clone()), &Vec::new()).await?;
        let call = Call { method: "PUT", path };
        let Some(fields) = node.as_object_mut() else {
            return Err(OctopusError::BadResponse { call, detail: "the node is not a JSON object".into() });
        };
        if let Some(drain) = change.drain {
            fields.insert("IsInMaintenanceMode".into(), drain.into());
        }
        if let Some(cap) = change.max_concurrent_tasks {
            fields.insert("MaxConcurrentTasks".into(), cap.into());
        }
        self.send(Method::PUT, call, &Vec::new(), Some(&node)).await.map(drop)
    }

    pub async fn delete_node(&self, node_id: &str) -> Result<(), OctopusError> {
        let call =
            Call { method: "DELETE", path: format!("/api/octopusservernodes/{}", checked_node(node_id)?) };
        self.send(Method::DELETE, call, &Vec::new(), None).await.map(drop)
    }

    // ---- machine policies ---------------------------------------------------------------------

    pub async fn machine_policies(&self, space_id: &str) -> Result<Vec<MachinePolicy>, OctopusError> {
        let space_id = checked("space", space_id)?;
        let raw: Vec<wire::MachinePolicyResource> =
            self.get_all(&format!("/api/{space_id}/machinepolicies"), &Vec::new()).await?;
        Ok(raw.into_iter().map(convert::machine_policy).collect())
    }
}

/// A listing that failed: a request's error, or pages that cannot make a complete listing.
pub(super) enum PagedError {
    Request(OctopusError),
    Paging(Call, PagingError),
}

impl From<OctopusError> for PagedError {
    fn from(err: OctopusError) -> Self {
        Self::Request(err)
    }
}

impl PagedError {
    pub(super) fn into_error(self) -> OctopusError {
        match self {
            Self::Request(err) => err,
            Self::Paging(call, err) => OctopusError::BadResponse { call, detail: err.to_string() },
        }
    }
}

/// A listing whose items carry an Id that is not an Octopus id is refused as a whole: the id
/// could later point a request at another resource, and the listing is not the server's real one.
pub(super) fn refuse_odd_ids<T: Identified>(call: &Call, items: &[T]) -> Result<(), OctopusError> {
    match items.iter().map(Identified::id).find(|id| !is_octopus_id(id)) {
        None => Ok(()),
        Some(id) => Err(OctopusError::BadResponse {
            call: call.clone(),
            detail: format!(
                "an item's Id `{}` is not an Octopus id (like Machines-12): the listing is refused",
                crate::untrusted::server_text(id)
            ),
        }),
    }
}

/// Why a 2xx body cannot be read as JSON before trying: a compressed body nobody asked for
/// (reqwest sends no Accept-Encoding here), or an HTML page (a proxy or sign-in page answering in
/// the server's place).
pub(super) fn unreadable_body(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or("");
    let encoding = header(reqwest::header::CONTENT_ENCODING);
    if !encoding.is_empty() && !encoding.eq_ignore_ascii_case("identity") {
        return Some(format!(
            "the body is compressed (Content-Encoding: {}), which scaleguard neither asked for nor reads: a proxy \
             in between may be rewriting answers",
            crate::untrusted::server_text(encoding)
        ));
    }
    let content_type = header(reqwest::header::CONTENT_TYPE);
    content_type.to_ascii_lowercase().starts_with("text/html").then(|| {
        "the server answered an HTML page (Content-Type: text/html), not JSON: a proxy or sign-in page may be \
         answering in the server's place"
            .to_string()
    })
}

pub(super) fn get_call(path: String) -> Call {
    Call { method: "GET", path }
}

pub(super) fn parse<T: DeserializeOwned>(call: &Call, bytes: &[u8]) -> Result<T, OctopusError> {
    serde_json::from_slice(bytes).map_err(|err| OctopusError::BadResponse {
        call: call.clone(),
        detail: crate::untrusted::not_json(bytes, &err),
    })
}

/// The origin (scheme, host, port) a `Location` header points to, resolved against the request
/// URL; never its path or query, which may carry anything.
fn origin_of(request_url: &str, location: &str) -> String {
    let resolved = url::Url::parse(request_url).and_then(|base| base.join(location));
    match resolved {
        Ok(url) => url.origin().ascii_serialization(),
        Err(_) => "an unreadable location".to_string(),
    }
}

/// `Spaces-1`, `Environments-42`: an id rather than a name.
fn looks_like_id(value: &str, prefix: &str) -> bool {
    // `get` rather than indexing: a non-ASCII name must not split a character.
    match (value.get(..prefix.len()), value.get(prefix.len()..)) {
        (Some(head), Some(digits)) => {
            head.eq_ignore_ascii_case(prefix)
                && !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

/// reqwest's own message is vague ("error sending request"); the innermost cause says why.
fn cause_chain(err: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
    let mut last = None;
    while let Some(cause) = source {
        last = Some(cause.to_string());
        source = cause.source();
    }
    last.unwrap_or_else(|| err.without_url_string())
}

trait WithoutUrl {
    fn without_url_string(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_string(&self) -> String {
        let mut message = self.to_string();
        if let Some(url) = self.url() {
            message = message.replace(url.as_str(), "");
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_told_from_names() {
        assert!(looks_like_id("Spaces-1", "Spaces-"));
        assert!(looks_like_id("spaces-12", "Spaces-"));
        assert!(!looks_like_id("Spaces-", "Spaces-"));
        assert!(!looks_like_id("Default", "Spaces-"));
        assert!(!looks_like_id("Spaces-Prod", "Spaces-"));
        assert!(!looks_like_id("Española", "Spaces-"), "no panic on a non-ASCII name");
    }

    #[test]
    fn base_url_keeps_a_virtual_directory_and_drops_api() {
        let mut config = OctopusConfig {
            url: "https://host/octopus/".into(),
            api_key_env: "K".into(),
            space: "Default".into(),
            environment: "Production".into(),
            roles: vec![],
            projects: vec![],
            timeout_secs: 5,
        };
        let client = OctopusClient::new(&config, Secret::new("API-XYZ")).unwrap();
        assert_eq!(client.base, "https://host/octopus");
        config.url = "https://host/api".into();
        assert_eq!(OctopusClient::new(&config, Secret::new("API-XYZ")).unwrap().base, "https://host");
        assert!(!format!("{client:?}").contains("API-XYZ"));
    }
}
