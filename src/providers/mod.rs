//! Scale-set providers behind one small trait, so callers never see a cloud SDK.
//!
//! Domain types in and out (`ScaleSetKey`, `ScaleSetState`, `Instance`), provider-neutral errors.
//! Azure's two orchestration modes sit behind the same trait: the mode is read from the scale set
//! and each call takes the mode's route (one profile may mix Uniform and Flexible sets).
//! AWS Auto Scaling groups are `providers/aws/` behind the same trait (their calls finish
//! synchronously and return [`Operation::Done`]); lifecycle hooks add two calls Azure does not
//! have ([`ScaleSetProvider::complete_lifecycle`], [`ScaleSetProvider::lifecycle_heartbeat`]).
//! The trait returns boxed futures (no `async fn` in the trait) so it can be used as `dyn`.

pub mod aws;
pub mod azure;
pub mod other_scalers;

use crate::autoscale::Setting;
use crate::completeness::{self, Doubt};
use crate::config::Profile;
use crate::model::{Instance, LifecycleResult, ScaleChange, ScaleSetKey, ScaleSetState};
use crate::snapshot::{ForeignVm, ScaleSetListing};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use time::OffsetDateTime;

pub type ProviderFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

/// A change the provider accepted: finished already, or still running and pollable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    Done,
    /// Poll with [`ScaleSetProvider::wait`]; `poll` is provider-specific (ARM: the Azure-AsyncOperation URL).
    Pending {
        poll: String,
        retry_after: Option<Duration>,
    },
    /// Accepted with no status URL, but the resource says it is still changing: [`ScaleSetProvider::wait`]
    /// reads `resource` (provider-specific; ARM: the resource URL) until its state is final.
    Provisioning {
        resource: String,
        retry_after: Option<Duration>,
    },
}

pub trait ScaleSetProvider: Send + Sync {
    /// "azure", "aws": matches `ScaleSetKey::provider`.
    fn name(&self) -> &'static str;

    /// The scale set with its capacity, state and concurrency token (ETag).
    fn get_scale_set<'a>(&'a self, key: &'a ScaleSetKey) -> ProviderFuture<'a, ScaleSetState>;

    /// Every instance with its instance view, all pages; a failed page is an error, never a shorter list.
    fn list_instances<'a>(&'a self, key: &'a ScaleSetKey) -> ProviderFuture<'a, Vec<Instance>>;

    /// The VMs of a set just read (its mode, capacity and id as `state` says): for a Flexible set
    /// the listing is a filter over the resource group's VMs, and VMs it returns that report
    /// another set come back as `foreign`. Paging that takes more pages than the capacity implies
    /// is an error. The default lists [`ScaleSetProvider::list_instances`].
    fn list_members<'a>(&'a self, state: &'a ScaleSetState) -> ProviderFuture<'a, Members> {
        Box::pin(async move {
            let instances = self.list_instances(&state.key).await?;
            Ok(Members { instances, foreign: Vec::new() })
        })
    }

    /// Set the desired capacity if the scale set still has `etag`; `PreconditionFailed` otherwise.
    fn set_capacity<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        capacity: u32,
        etag: &'a str,
    ) -> ProviderFuture<'a, Operation>;

    fn delete_instances<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        instance_ids: &'a [String],
    ) -> ProviderFuture<'a, Operation>;

    fn set_scale_in_protection<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        instance_id: &'a str,
        protect: bool,
    ) -> ProviderFuture<'a, Operation>;

    /// Poll an operation until it succeeds, fails or the provider's deadline passes.
    fn wait<'a>(&'a self, operation: &'a Operation) -> ProviderFuture<'a, ()>;

    /// The autoscale setting that targets the set (Azure Autoscale), None when there is none.
    fn autoscale<'a>(&'a self, key: &'a ScaleSetKey) -> ProviderFuture<'a, Option<Setting>>;

    /// Replace `setting` with `body` (the setting as read, with a change applied); the setting
    /// as the server then has it.
    fn put_autoscale<'a>(
        &'a self,
        setting: &'a Setting,
        body: &'a serde_json::Value,
    ) -> ProviderFuture<'a, Setting>;

    /// Writes to the set by anyone, and the scale actions of its autoscale `setting`, between
    /// `since` and `until`, with who made them (Azure: the Activity Log).
    fn changes_since<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        setting: Option<&'a Setting>,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> ProviderFuture<'a, Vec<ScaleChange>>;

    /// Complete the lifecycle action that holds `instance_id` on the hook `hook` (AWS lifecycle
    /// hooks) with CONTINUE or ABANDON. Providers without hooks refuse.
    fn complete_lifecycle<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        instance_id: &'a str,
        hook: &'a str,
        result: LifecycleResult,
    ) -> ProviderFuture<'a, ()> {
        let _ = (instance_id, hook, result);
        Box::pin(async move {
            Err(ProviderError::Unsupported {
                what: format!("scale set {key}"),
                detail: format!("the {} provider has no lifecycle hooks", self.name()),
            })
        })
    }

    /// Extend the wait of the lifecycle action holding `instance_id` on `hook` by its heartbeat
    /// timeout (AWS RecordLifecycleActionHeartbeat). Providers without hooks refuse.
    fn lifecycle_heartbeat<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        instance_id: &'a str,
        hook: &'a str,
    ) -> ProviderFuture<'a, ()> {
        let _ = (instance_id, hook);
        Box::pin(async move {
            Err(ProviderError::Unsupported {
                what: format!("scale set {key}"),
                detail: format!("the {} provider has no lifecycle hooks", self.name()),
            })
        })
    }

    /// The scale set and all its instances: what one refresh needs (the set before and after,
    /// plus one read per page).
    fn listing<'a>(&'a self, key: &'a ScaleSetKey) -> ProviderFuture<'a, ScaleSetListing> {
        Box::pin(async move {
            let state = self.get_scale_set(key).await?;
            let Members { instances, foreign } = self.list_members(&state).await?;
            // One more GET: a set that changed while its pages were read (a scale-in started
            // after the first read) must not pass for the settled set it was.
            let reread = Some(self.get_scale_set(key).await?);
            let listing = ScaleSetListing { state, instances, reread, foreign };
            // A listing that ended early (a missing next link) looks complete page by page; a
            // settled set listing fewer distinct VMs than its capacity gives it away (an entry
            // repeated across pages must not make up the count). Any other doubt (a set still
            // changing, repeated entries beside a full count) leaves a listing that is shown but
            // proves nothing about absence: the planner judges it again (`completeness`).
            let verdict = completeness::judge(&listing);
            if let Some((listed, capacity)) = verdict.short_while_settled() {
                // What else the listing holds that could have made the count look right.
                let besides: Vec<String> = verdict
                    .doubts
                    .iter()
                    .filter_map(|d| match d {
                        Doubt::RepeatedInstanceIds(_)
                        | Doubt::RepeatedVmIds(_)
                        | Doubt::RepeatedComputerNames(_)
                        | Doubt::ForeignVms(_)
                        | Doubt::OutsideGroup(_) => Some(d.to_string()),
                        Doubt::Short { deleting, .. } if *deleting > 0 => {
                            Some(format!("and {deleting} being deleted, which do not count"))
                        }
                        _ => None,
                    })
                    .collect();
                let repeats =
                    if besides.is_empty() { String::new() } else { format!(" ({})", besides.join("; ")) };
                return Err(ProviderError::IncompleteListing {
                    what: format!("instances of {key}"),
                    listed,
                    capacity,
                    repeats,
                });
            }
            Ok(listing)
        })
    }
}

/// What a scale set's listing found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    pub instances: Vec<Instance>,
    /// VMs listed for the set that report another set: never counted as the set's.
    pub foreign: Vec<ForeignVm>,
}

/// " (412 Precondition Failed)" or nothing.
fn http_text(http: &Option<&'static str>) -> String {
    http.map(|h| format!(" ({h})")).unwrap_or_default()
}

/// ": detail" or nothing.
fn said(detail: &Option<String>) -> String {
    detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
}

/// Provider-neutral failures; `what` names the operation and resource ("GET scale set rg/vmss").
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ProviderError {
    #[error("{what}: the credential was rejected (401 Unauthorized){}", said(.detail))]
    Unauthorized { what: String, detail: Option<String> },
    #[error("{what}: permission denied (403 Forbidden){}", said(.detail))]
    Forbidden { what: String, detail: Option<String> },
    #[error("{what}: not found (404){}", said(.detail))]
    NotFound { what: String, detail: Option<String> },
    /// `http`: the HTTP status text when the provider signals it by status (Azure's 429); None
    /// when the service says so by an error code (AWS `Throttling`, in `detail`).
    #[error("{what}: throttled{}{}{}", http_text(.http), .retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default(), said(.detail))]
    Throttled {
        what: String,
        retry_after: Option<Duration>,
        detail: Option<String>,
        http: Option<&'static str>,
    },
    /// `http` as for `Throttled`: Azure's "412 Precondition Failed" (an ETag that moved); AWS
    /// says it by an error code or a desired capacity read again.
    #[error("{what}: the scale set changed since it was read{}; read it again{}", http_text(.http), said(.detail))]
    PreconditionFailed { what: String, detail: Option<String>, http: Option<&'static str> },
    #[error("{what}: server error ({status}){}", said(.detail))]
    Server { what: String, status: u16, detail: Option<String> },
    /// Other 4xx (400, 409): the request was refused as sent.
    #[error("{what}: rejected ({status}){}", said(.detail))]
    Rejected { what: String, status: u16, detail: Option<String> },
    #[error("{what}: unexpected answer: {detail}")]
    BadResponse { what: String, detail: String },
    #[error("{what}: {detail}")]
    Timeout { what: String, detail: String },
    #[error("{what}: cannot connect: {detail}")]
    Connect { what: String, detail: String },
    #[error("{what}: cannot get a token: {detail}")]
    Credential { what: String, detail: String },
    #[error("{what}: not supported: {detail}")]
    Unsupported { what: String, detail: String },
    #[error("{what}: the operation failed{}", said(.detail))]
    OperationFailed { what: String, detail: Option<String> },
    /// Fewer distinct VMs listed than a settled scale set's capacity: a page went missing.
    /// `repeats` is empty or says what else is wrong: " (instance 1 listed 2 times)", " (VM x
    /// reports scale set y …)".
    #[error("{what}: the listing has {listed} distinct VM(s){repeats} but the settled scale set's capacity is {capacity}: the listing is incomplete")]
    IncompleteListing { what: String, listed: u64, capacity: u32, repeats: String },
    /// Paging stopped before the server said it was over: a loop, no end, or a foreign nextLink.
    #[error("{what}: paging stopped: {detail}")]
    Paging { what: String, detail: String },
    /// A listing page failed: the whole listing is void (never a shorter list).
    #[error("instance listing failed at page {page}: {cause}")]
    PartialListing { page: u32, cause: Box<ProviderError> },
}

impl ProviderError {
    /// A short name for the kind of failure ("unauthorized", "timeout", ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound { .. } => "not found",
            Self::Throttled { .. } => "throttled",
            Self::PreconditionFailed { .. } => "precondition failed",
            Self::Server { .. } => "server error",
            Self::Rejected { .. } => "rejected",
            Self::BadResponse { .. } => "bad response",
            Self::Timeout { .. } => "timeout",
            Self::Connect { .. } => "connection failed",
            Self::Credential { .. } => "credential",
            Self::Unsupported { .. } => "unsupported",
            Self::OperationFailed { .. } => "operation failed",
            Self::IncompleteListing { .. } => "incomplete listing",
            Self::Paging { .. } => "paging stopped",
            Self::PartialListing { cause, .. } => cause.kind(),
        }
    }

    /// Could the provider have acted on the write this error ends? True after a 5xx, a timeout or
    /// a connection failure (on AWS one that may come after the request was sent); a refusal
    /// (4xx, throttled, precondition failed) or an error before sending says it did not.
    pub fn may_have_acted(&self) -> bool {
        matches!(self, Self::Server { .. } | Self::Timeout { .. } | Self::Connect { .. })
    }

    pub(crate) fn from_status(
        what: String,
        status: u16,
        detail: Option<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        match status {
            401 => Self::Unauthorized { what, detail },
            403 => Self::Forbidden { what, detail },
            404 => Self::NotFound { what, detail },
            412 => Self::PreconditionFailed { what, detail, http: Some("412 Precondition Failed") },
            429 => Self::Throttled { what, retry_after, detail, http: Some("429") },
            500..=599 => Self::Server { what, status, detail },
            _ => Self::Rejected { what, status, detail },
        }
    }
}

/// The provider for a configured scale set's `provider` field.
pub fn for_key(profile: &Profile, key: &ScaleSetKey) -> Result<Arc<dyn ScaleSetProvider>, ProviderError> {
    match key.provider.as_str() {
        "azure" => Ok(Arc::new(azure::AzureProvider::from_config(&profile.azure)?)),
        "aws" => Ok(Arc::new(aws::AwsProvider::from_config(profile)?)),
        other => Err(ProviderError::Unsupported {
            what: format!("scale set {key}"),
            detail: format!("provider `{other}` is not supported (supported: azure, aws)"),
        }),
    }
}
