//! Azure VM Scale Sets through azure_mgmt_compute 0.21, both orchestration modes.
//!
//! The scale set is read with the SDK's `get`; its `orchestrationMode` picks the route for each
//! call: Uniform sets list, delete and protect through the set's per-instance API; Flexible sets
//! through the VM resources themselves (flexible.rs). The VM list is paged here (list.rs, paging.rs), through the
//! same pipeline and credential, parsed with the SDK's models: the SDK's `into_stream()` follows
//! any nextLink to any host with the bearer token and never stops on a loop. Writes use the SDK's
//! `.send()` only: awaiting its long-running futures re-sends the PATCH in a loop and misreads the
//! state, so we follow each write ourselves (lro.rs: a 200 can still be running), polling
//! `Azure-AsyncOperation` / `Location` or the resource's `provisioningState`, within
//! `lro_deadline_secs`. Every URL a server hands us (nextLink, poll URL) is requested only on the
//! configured ARM origin.
//! Everything goes through one azure_core pipeline with our transport and retry policy (pipeline.rs).

mod activity;
pub mod convert;
mod credential;
pub mod flexible;
mod list;
mod lro;
mod monitor;
mod page_stream;
mod paging;
mod pipeline;

pub use credential::TokenEnvCredential;
pub use pipeline::RateLimits;

use super::{Members, Operation, ProviderError, ProviderFuture, ScaleSetProvider};
use crate::config::AzureConfig;
use crate::model::{Instance, OrchestrationMode, ScaleSetKey, ScaleSetState};
use crate::retry::{parse_retry_after, RetryPolicy};
use azure_core::auth::TokenCredential;
use azure_core::{ClientOptions, Context, Method, RetryOptions, TransportOptions};
use azure_mgmt_compute::package_2024_07_01::{models, Client};
use lro::LroStatus;
use paging::{origin_of, same_origin};
use pipeline::{arm_failure, header, ArmFailure, ArmRetryPolicy};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct AzureProvider {
    client: Client,
    /// The configured ARM endpoint: the only origin the credential is sent to, and where resource
    /// URLs to read while a change settles start.
    endpoint: azure_core::Url,
    /// The same policies as the SDK client, for requests the SDK cannot make (LRO polling).
    pipeline: azure_core::Pipeline,
    credential: Arc<dyn TokenCredential>,
    scopes: Vec<String>,
    lro_deadline: Duration,
    poll_interval: Duration,
    rate_limits: Arc<Mutex<RateLimits>>,
}

impl std::fmt::Debug for AzureProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureProvider").field("lro_deadline", &self.lro_deadline).finish_non_exhaustive()
    }
}

impl AzureProvider {
    /// A provider for the configured endpoint and credential kind.
    pub fn from_config(config: &AzureConfig) -> Result<Self, ProviderError> {
        let credential = credential::build(config)?;
        Self::with_credential(config, credential)
    }

    pub fn with_credential(
        config: &AzureConfig,
        credential: Arc<dyn TokenCredential>,
    ) -> Result<Self, ProviderError> {
        let credential: Arc<dyn TokenCredential> = Arc::new(credential::Remembering(credential));
        let what = || "azure.arm_url".to_string();
        let endpoint = azure_core::Url::parse(&config.arm_url).map_err(|err| ProviderError::Unsupported {
            what: what(),
            detail: format!("not a URL ({err})"),
        })?;
        if !endpoint.path().trim_matches('/').is_empty() {
            // azure_mgmt_compute replaces the endpoint's path with `/subscriptions/...`.
            return Err(ProviderError::Unsupported {
                what: what(),
                detail: format!("`{}` has a path; ARM must be served at the root of a host", config.arm_url),
            });
        }
        let timeout = Duration::from_secs(config.timeout_secs.max(1));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // ARM does not redirect these calls; a redirect is answered as the error it is, never
            // followed to another origin (and its answer never taken for a page).
            .redirect(reqwest::redirect::Policy::none())
            // A refresh lists every set at once, one connection each, and an idle connection
            // keeps the read buffer a page grew it to (hundreds of KB): keep one idle, close
            // the rest once the read is over (at 10 sets, 3.6 MB less at the console's peak).
            .pool_max_idle_per_host(1)
            .build()
            .map_err(|err| ProviderError::Unsupported {
                what: what(),
                detail: format!("HTTP client: {err}"),
            })?;
        let rate_limits = Arc::new(Mutex::new(RateLimits::default()));
        let retry = ArmRetryPolicy {
            retry: RetryPolicy { total_deadline: timeout * 2, ..RetryPolicy::default() },
            timeout,
            rate_limits: rate_limits.clone(),
        };
        let options = ClientOptions::new(TransportOptions::new(Arc::new(http)))
            .retry(RetryOptions::none())
            // Per-retry sits right before the transport: ours sees raw responses, the SDK's
            // (disabled) policy only passes our results through.
            .per_retry_policies(vec![Arc::new(retry) as Arc<dyn azure_core::Policy>]);
        let scopes = vec![format!("{}/.default", config.arm_url.trim_end_matches('/'))];
        let client = Client::new(endpoint.clone(), credential.clone(), scopes.clone(), options.clone());
        let pipeline = azure_core::Pipeline::new(
            Some("scaleguard"),
            Some(env!("CARGO_PKG_VERSION")),
            options,
            vec![],
            vec![],
        );
        Ok(Self {
            client,
            endpoint,
            pipeline,
            credential,
            scopes,
            lro_deadline: Duration::from_secs(config.lro_deadline_secs.max(1)),
            poll_interval: Duration::from_secs(2),
            rate_limits,
        })
    }

    /// How often to poll an operation when ARM sends no Retry-After (tests shorten it).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The last `x-ms-ratelimit-remaining-*` headers ARM sent.
    pub fn rate_limits(&self) -> RateLimits {
        self.rate_limits.lock().map(|l| l.clone()).unwrap_or_default()
    }

    async fn get(&self, key: &ScaleSetKey) -> Result<ScaleSetState, ProviderError> {
        let what = format!("GET scale set {key}");
        let response = self
            .client
            .virtual_machine_scale_sets_client()
            .get(&key.resource_group, &key.name, &key.subscription_id)
            .send()
            .await
            .map_err(|err| map_error(&what, err))?;
        let etag = header(response.as_raw_response().headers(), "etag");
        if let Some(detail) = unreadable_body(response.as_raw_response().headers()) {
            return Err(ProviderError::BadResponse { what, detail });
        }
        let body = response.into_body().await.map_err(|err| map_error(&what, err))?;
        convert::scale_set(key, body, etag).map_err(|detail| ProviderError::BadResponse { what, detail })
    }

    /// GET a URL a server handed us, with the bearer token, only on the configured ARM origin:
    /// any other origin is an error naming it, and nothing is sent there.
    async fn get_on_origin(
        &self,
        url: azure_core::Url,
        what: &str,
    ) -> Result<(u16, azure_core::headers::Headers, Vec<u8>), ProviderError> {
        self.send_on_origin(Method::Get, url, None, what).await
    }

    /// [`AzureProvider::get_on_origin`] for any method, with an optional JSON body.
    async fn send_on_origin(
        &self,
        method: Method,
        url: azure_core::Url,
        json_body: Option<Vec<u8>>,
        what: &str,
    ) -> Result<(u16, azure_core::headers::Headers, Vec<u8>), ProviderError> {
        if !same_origin(&url, &self.endpoint) {
            return Err(ProviderError::BadResponse {
                what: what.to_string(),
                detail: format!(
                    "the server pointed to {}, not to the configured ARM endpoint {}: not requested, so the \
                     credential is not sent there",
                    origin_of(&url),
                    origin_of(&self.endpoint)
                ),
            });
        }
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let token = self
            .credential
            .get_token(&scopes)
            .await
            .map_err(|err| ProviderError::Credential { what: what.to_string(), detail: err.to_string() })?;
        let mut request = azure_core::Request::new(url, method);
        request.insert_header("authorization", format!("Bearer {}", token.token.secret()));
        if let Some(body) = json_body {
            request.insert_header("content-type", "application/json");
            request.set_body(body);
        }
        let response =
            self.pipeline.send(&Context::new(), &mut request).await.map_err(|err| map_error(what, err))?;
        let status: u16 = response.status().into();
        let headers = response.headers().clone();
        let body = read_body(response.into_body(), content_length(&headers))
            .await
            .map_err(|err| map_error(what, err))?;
        Ok((status, headers, body))
    }

    async fn capacity(
        &self,
        key: &ScaleSetKey,
        capacity: u32,
        etag: &str,
    ) -> Result<Operation, ProviderError> {
        let what = format!("PATCH capacity of {key} to {capacity}");
        let mut update = models::VirtualMachineScaleSetUpdate::new();
        update.sku = Some(models::Sku { capacity: Some(capacity.into()), ..models::Sku::new() });
        let response = self
            .client
            .virtual_machine_scale_sets_client()
            .update(&key.resource_group, &key.name, update, &key.subscription_id)
            .if_match(etag)
            .send()
            .await
            .map_err(|err| map_error(&what, err))?;
        let resource = self.resource_url(key, &[]);
        self.follow(&what, response.into_raw_response(), Some(resource)).await
    }

    /// The set's VMs by its mode's route.
    async fn members(&self, state: &ScaleSetState) -> Result<Members, ProviderError> {
        match state.orchestration_mode {
            OrchestrationMode::Uniform => {
                let instances = self.list_uniform(&state.key, state.capacity).await?;
                Ok(Members { instances, foreign: Vec::new() })
            }
            OrchestrationMode::Flexible => self.list_flexible(state).await,
        }
    }

    /// Delete these VMs of the set: Uniform instance ids in one POST, Flexible VM names each
    /// with the VM's own DELETE (only names the set lists right now; none is sent otherwise).
    async fn delete(&self, key: &ScaleSetKey, ids: &[String]) -> Result<Operation, ProviderError> {
        let state = self.get(key).await?;
        match state.orchestration_mode {
            OrchestrationMode::Uniform => self.delete_uniform(key, ids).await,
            OrchestrationMode::Flexible => self.delete_flexible(&state, ids).await,
        }
    }

    async fn delete_flexible(
        &self,
        state: &ScaleSetState,
        names: &[String],
    ) -> Result<Operation, ProviderError> {
        let key = &state.key;
        // The SDK formats the name into the path: a name no VM can have is never sent.
        if let Some(name) = names.iter().find(|name| !flexible::is_vm_name(name)) {
            return Err(ProviderError::BadResponse {
                what: format!("DELETE VM of Flexible scale set {key}"),
                detail: format!(
                    "`{}` is not a name an Azure VM can have, so no request was sent for it",
                    crate::untrusted::server_text(name)
                ),
            });
        }
        let members = self.list_flexible(state).await?;
        for name in names {
            if !members.instances.iter().any(|vm| vm.instance_id.eq_ignore_ascii_case(name)) {
                return Err(ProviderError::NotFound {
                    what: format!("DELETE VM {name} of Flexible scale set {key}"),
                    detail: Some("the set's VM list does not hold it, so nothing was deleted".into()),
                });
            }
        }
        let mut deleted: Vec<&str> = Vec::new();
        for name in names {
            let earlier = match deleted.as_slice() {
                [] => String::new(),
                done => format!(" (deleted before it: {})", done.join(", ")),
            };
            let what = format!("DELETE VM {name} of Flexible scale set {key}{earlier}");
            let response = self
                .client
                .virtual_machines_client()
                .delete(&key.resource_group, name, &key.subscription_id)
                .send()
                .await
                .map_err(|err| map_error(&what, err))?;
            // A 202 without a status URL is refused: the VM is gone once its DELETE says so.
            let operation = self.follow(&what, response.into_raw_response(), None).await?;
            self.poll(&operation).await.map_err(|err| match err {
                ProviderError::OperationFailed { detail, .. } => {
                    ProviderError::OperationFailed { what: what.clone(), detail }
                }
                other => other,
            })?;
            deleted.push(name);
        }
        Ok(Operation::Done)
    }

    async fn delete_uniform(&self, key: &ScaleSetKey, ids: &[String]) -> Result<Operation, ProviderError> {
        let what = format!("POST delete instances {} of {key}", ids.join(","));
        let ids = models::VirtualMachineScaleSetVmInstanceRequiredIDs::new(ids.to_vec());
        let response = self
            .client
            .virtual_machine_scale_sets_client()
            .delete_instances(&key.resource_group, &key.name, ids, &key.subscription_id)
            .send()
            .await
            .map_err(|err| map_error(&what, err))?;
        // No resource to read back: an answer without a status URL is refused, not taken as done.
        self.follow(&what, response.into_raw_response(), None).await
    }

    async fn protect(
        &self,
        key: &ScaleSetKey,
        instance_id: &str,
        protect: bool,
    ) -> Result<Operation, ProviderError> {
        let what = format!("PUT protection of instance {instance_id} of {key}");
        let state = self.get(key).await?;
        if state.orchestration_mode == OrchestrationMode::Flexible {
            return Err(ProviderError::Unsupported {
                what,
                detail: crate::scale_in::FLEXIBLE_NO_PROTECTION.into(),
            });
        }
        // The SDK's VM model requires `location` (ARM does too): take it from the scale set.
        let location = state.location.ok_or_else(|| ProviderError::BadResponse {
            what: format!("GET scale set {key}"),
            detail: "the scale set has no location".into(),
        })?;
        let mut vm = models::VirtualMachineScaleSetVm::new(models::Resource::new(location));
        vm.properties = Some(models::VirtualMachineScaleSetVmProperties {
            protection_policy: Some(models::VirtualMachineScaleSetVmProtectionPolicy {
                protect_from_scale_in: Some(protect),
                protect_from_scale_set_actions: None,
            }),
            ..Default::default()
        });
        let response = self
            .client
            .virtual_machine_scale_set_v_ms_client()
            .update(&key.resource_group, &key.name, instance_id, vm, &key.subscription_id)
            .send()
            .await
            .map_err(|err| map_error(&what, err))?;
        let resource = self.resource_url(key, &["virtualMachines", instance_id]);
        self.follow(&what, response.into_raw_response(), Some(resource)).await
    }

    /// The scale set's URL (or a child's, `child` segments appended) with the provider's api-version.
    fn resource_url(&self, key: &ScaleSetKey, child: &[&str]) -> String {
        let mut url = self.set_url(key, child);
        url.set_query(Some(&format!("api-version={API_VERSION}")));
        url.to_string()
    }

    /// The scale set's URL (or a child's) without a query, each segment percent-encoded: a name
    /// never changes the path's shape.
    fn set_url(&self, key: &ScaleSetKey, child: &[&str]) -> azure_core::Url {
        let mut url = self.endpoint.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.clear().extend([
                "subscriptions",
                &key.subscription_id,
                "resourceGroups",
                &key.resource_group,
                "providers",
                "Microsoft.Compute",
                "virtualMachineScaleSets",
                &key.name,
            ]);
            segments.extend(child);
        }
        url.set_query(None);
        url
    }

    /// What a write's answer says about when it is finished (lro.rs).
    async fn follow(
        &self,
        what: &str,
        response: azure_core::Response,
        resource: Option<String>,
    ) -> Result<Operation, ProviderError> {
        let headers = response.headers();
        let answer = lro::WriteAnswer {
            status: response.status().into(),
            async_operation: header(headers, "azure-asyncoperation"),
            location: header(headers, "location"),
            retry_after: header(headers, "retry-after").as_deref().and_then(parse_retry_after),
        };
        let body = response.into_body().collect().await.map_err(|err| map_error(what, err))?;
        lro::operation(what, answer, &body, resource)
    }

    /// Poll until a final status or the deadline; Retry-After is honoured (capped by the deadline).
    async fn poll(&self, operation: &Operation) -> Result<(), ProviderError> {
        type ReadStatus = fn(u16, &[u8]) -> LroStatus;
        let (poll, retry_after, what, read): (&String, _, &str, ReadStatus) = match operation {
            Operation::Done => return Ok(()),
            Operation::Pending { poll, retry_after } => {
                (poll, retry_after, "GET operation status", lro::operation_status)
            }
            Operation::Provisioning { resource, retry_after } => {
                (resource, retry_after, "GET provisioning state", lro::resource_status)
            }
        };
        let what = what.to_string();
        let url = azure_core::Url::parse(poll).map_err(|err| ProviderError::BadResponse {
            what: what.clone(),
            detail: format!("poll URL: {err}"),
        })?;
        if !same_origin(&url, &self.endpoint) {
            // Refused before the first wait: a foreign poll URL will never become acceptable.
            return self.get_on_origin(url, &what).await.map(|_| ());
        }
        let deadline = Instant::now() + self.lro_deadline;
        let mut wait = retry_after.unwrap_or(self.poll_interval);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ProviderError::Timeout {
                    what,
                    detail: format!("the operation did not finish within {}s", self.lro_deadline.as_secs()),
                });
            }
            tokio::time::sleep(wait.min(left)).await;
            let (status, headers, body) = self.get_on_origin(url.clone(), &what).await?;
            let after = header(&headers, "retry-after").as_deref().and_then(parse_retry_after);
            match read(status, &body) {
                LroStatus::Running => wait = after.unwrap_or(self.poll_interval),
                LroStatus::Succeeded => return Ok(()),
                LroStatus::Failed(detail) => return Err(ProviderError::OperationFailed { what, detail }),
                LroStatus::Unreadable(detail) => return Err(ProviderError::BadResponse { what, detail }),
            }
        }
    }
}

impl ScaleSetProvider for AzureProvider {
    fn name(&self) -> &'static str {
        "azure"
    }

    fn get_scale_set<'a>(&'a self, key: &'a ScaleSetKey) -> ProviderFuture<'a, ScaleSetState> {
        Box::pin(self.get(key))
    }

    /// Reads the set first: its mode decides the route.
    fn list_instances<'a>(&'a self, key: &'a ScaleSetKey) -> ProviderFuture<'a, Vec<Instance>> {
        Box::pin(async move {
            let mut state = self.get(key).await?;
            // Bounded by the most a set may hold rather than by a capacity nobody checks here.
            state.capacity = state.capacity.max(paging::MAX_SET_CAPACITY);
            Ok(self.members(&state).await?.instances)
        })
    }

    fn list_members<'a>(&'a self, state: &'a ScaleSetState) -> ProviderFuture<'a, Members> {
        Box::pin(self.members(state))
    }

    fn set_capacity<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        capacity: u32,
        etag: &'a str,
    ) -> ProviderFuture<'a, Operation> {
        Box::pin(self.capacity(key, capacity, etag))
    }

    fn delete_instances<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        instance_ids: &'a [String],
    ) -> ProviderFuture<'a, Operation> {
        Box::pin(self.delete(key, instance_ids))
    }

    fn set_scale_in_protection<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        instance_id: &'a str,
        protect: bool,
    ) -> ProviderFuture<'a, Operation> {
        Box::pin(self.protect(key, instance_id, protect))
    }

    fn wait<'a>(&'a self, operation: &'a Operation) -> ProviderFuture<'a, ()> {
        Box::pin(self.poll(operation))
    }

    fn autoscale<'a>(
        &'a self,
        key: &'a ScaleSetKey,
    ) -> ProviderFuture<'a, Option<crate::autoscale::Setting>> {
        Box::pin(self.autoscale_setting(key))
    }

    fn put_autoscale<'a>(
        &'a self,
        setting: &'a crate::autoscale::Setting,
        body: &'a serde_json::Value,
    ) -> ProviderFuture<'a, crate::autoscale::Setting> {
        Box::pin(self.put_autoscale_setting(setting, body))
    }

    fn changes_since<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        setting: Option<&'a crate::autoscale::Setting>,
        since: time::OffsetDateTime,
        until: time::OffsetDateTime,
    ) -> ProviderFuture<'a, Vec<crate::model::ScaleChange>> {
        Box::pin(self.activity_changes(key, setting, since, until))
    }
}

/// Why a 200's body cannot be read as JSON before trying: compressed although nothing asked for
/// it, or an HTML page (a proxy or sign-in page answering in ARM's place).
fn unreadable_body(headers: &azure_core::headers::Headers) -> Option<String> {
    let encoding = header(headers, "content-encoding").unwrap_or_default();
    let encoding = encoding.trim();
    if !encoding.is_empty() && !encoding.eq_ignore_ascii_case("identity") {
        return Some(format!(
            "the body is compressed (Content-Encoding: {}), which scaleguard neither asked for nor reads: a proxy \
             in between may be rewriting answers",
            crate::untrusted::server_text(encoding)
        ));
    }
    let content_type = header(headers, "content-type").unwrap_or_default().to_ascii_lowercase();
    content_type.trim().starts_with("text/html").then(|| {
        "ARM answered an HTML page (Content-Type: text/html), not JSON: a proxy or sign-in page may be answering \
         in its place"
            .to_string()
    })
}

/// The most a Content-Length may reserve ahead of the body: a larger stated length is read
/// growing as the body comes (and a false one costs nothing).
const MAX_RESERVED_BODY: usize = 32 * 1024 * 1024;

/// The body's stated length, when it states a plain number.
fn content_length(headers: &azure_core::headers::Headers) -> Option<usize> {
    header(headers, "content-length")?.trim().parse().ok()
}

/// A response body in one buffer of its stated size (azure_core's `collect` grows a buffer by
/// doubling and hands back a shared copy: a page read that way holds up to three times its size).
async fn read_body(mut body: azure_core::ResponseBody, stated: Option<usize>) -> azure_core::Result<Vec<u8>> {
    use futures::StreamExt;
    let mut bytes = Vec::with_capacity(stated.unwrap_or(0).min(MAX_RESERVED_BODY));
    while let Some(chunk) = body.next().await {
        bytes.extend_from_slice(&chunk?);
    }
    Ok(bytes)
}

/// The api-version of the SDK package in use (`package_2024_07_01`), for URLs we build ourselves.
const API_VERSION: &str = "2024-07-01";

/// azure_core's error → ours, preferring what our pipeline recorded (status, ARM message, Retry-After).
fn map_error(what: &str, err: azure_core::Error) -> ProviderError {
    let what = what.to_string();
    if let Some(failure) = arm_failure(&err) {
        return match failure.clone() {
            ArmFailure::Status { status, code, message, retry_after } => {
                let detail = match (code, message) {
                    (Some(code), Some(message)) => Some(format!("{code}: {message}")),
                    (code, message) => message.or(code),
                };
                ProviderError::from_status(what, status, detail, retry_after)
            }
            ArmFailure::Timeout(after) => ProviderError::Timeout {
                what,
                detail: format!("no complete answer within {}s", after.as_secs()),
            },
            ArmFailure::Connect(detail) => ProviderError::Connect { what, detail },
            ArmFailure::Io(detail) => {
                ProviderError::Connect { what, detail: format!("connection lost: {detail}") }
            }
        };
    }
    match err.kind() {
        azure_core::error::ErrorKind::Credential => {
            ProviderError::Credential { what, detail: crate::untrusted::server_text(&err.to_string()) }
        }
        azure_core::error::ErrorKind::HttpResponse { status, error_code } => {
            ProviderError::from_status(what, u16::from(*status), error_code.clone(), None)
        }
        // azure_core's own messages may quote the whole body: capped like any server text.
        azure_core::error::ErrorKind::DataConversion => ProviderError::BadResponse {
            what,
            detail: format!(
                "the body is not the expected JSON ({})",
                crate::untrusted::server_text(&err.to_string())
            ),
        },
        _ => ProviderError::BadResponse { what, detail: crate::untrusted::server_text(&err.to_string()) },
    }
}
