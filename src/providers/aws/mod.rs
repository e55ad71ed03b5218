//! AWS Auto Scaling groups behind [`ScaleSetProvider`], with aws-sdk-autoscaling for Auto Scaling
//! and one signed Query call for EC2 (`ec2`).
//!
//! Requests per listing of a group: DescribeAutoScalingGroups (the group with every instance
//! inline, so one answer), DescribeLifecycleHooks, DescribeInstanceRefreshes, DescribeWarmPool
//! pages only when the group has a warm pool, and EC2 DescribeInstances in batches of 200 ids,
//! whatever the `match`: the names `match` may need, and the group tag that shows each listed
//! instance is the group's (the group's answer names no group per instance). Never a call per
//! instance.
//!
//! Writes: SetDesiredCapacity after reading the desired capacity again (AWS has no ETag: the
//! desired capacity read is the token, and a moved one is "changed meanwhile");
//! TerminateInstanceInAutoScalingGroup with ShouldDecrementDesiredCapacity=true, only for ids the
//! group lists (the call itself names no group); SetInstanceProtection; CompleteLifecycleAction
//! and RecordLifecycleActionHeartbeat for the hooks scaleguard acts on. Every call finishes
//! synchronously: [`Operation::Done`].

mod activities;
mod call;
mod credentials;
mod ec2;
mod group;

pub use ec2::Ec2Facts;

use super::{Members, Operation, ProviderError, ProviderFuture, ScaleSetProvider};
use crate::autoscale::Setting;
use crate::config::{AwsConfig, Profile};
use crate::model::{Instance, LifecycleResult, ScaleChange, ScaleSetKey, ScaleSetState};
use crate::retry::{RequestKind, RetryPolicy};
use crate::snapshot::ScaleSetListing;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_autoscaling::types::{AutoScalingGroup, Instance as AsgInstance, InstanceRefresh, LifecycleHook};
use call::{sdk_failure, with_retry};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::OnceCell;

/// Most pages of one Auto Scaling listing: far beyond any real group or warm pool.
const MAX_PAGES: usize = 200;

struct Clients {
    sdk: aws_config::SdkConfig,
    autoscaling: aws_sdk_autoscaling::Client,
}

pub struct AwsProvider {
    config: AwsConfig,
    /// Replaces the default credentials chain (tests).
    credentials: Option<SharedCredentialsProvider>,
    retry: RetryPolicy,
    http: reqwest::Client,
    clients: OnceCell<Clients>,
}

impl AwsProvider {
    /// The provider for a profile's aws sets; the SDK configuration loads on first use.
    pub fn from_config(profile: &Profile) -> Result<Self, ProviderError> {
        let config = profile.aws.clone().ok_or_else(|| ProviderError::Unsupported {
            what: "the AWS provider".into(),
            detail: "the profile has no [aws] table (region, endpoint_url)".into(),
        })?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(config.timeout_secs.clamp(1, 10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| ProviderError::Connect {
                what: "the EC2 HTTP client".into(),
                detail: err.to_string(),
            })?;
        Ok(Self { config, credentials: None, retry: RetryPolicy::default(), http, clients: OnceCell::new() })
    }

    /// Use these credentials instead of the default chain (tests: static keys, no chain at all).
    pub fn with_credentials(mut self, credentials: aws_credential_types::Credentials) -> Self {
        self.credentials = Some(SharedCredentialsProvider::new(credentials));
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    async fn clients(&self) -> &Clients {
        self.clients
            .get_or_init(|| async {
                let sdk = credentials::load(&self.config, self.credentials.clone()).await;
                let autoscaling = aws_sdk_autoscaling::Client::new(&sdk);
                Clients { sdk, autoscaling }
            })
            .await
    }

    fn ec2_endpoint(&self) -> String {
        match &self.config.endpoint_url {
            Some(url) => url.clone(),
            None => format!("https://ec2.{}.amazonaws.com/", self.config.region),
        }
    }

    /// The group named by `key`, every page of DescribeAutoScalingGroups read.
    async fn read_group(&self, key: &ScaleSetKey) -> Result<AutoScalingGroup, ProviderError> {
        let client = &self.clients().await.autoscaling;
        let mut token: Option<String> = None;
        let mut found: Vec<AutoScalingGroup> = Vec::new();
        for page in 1..=MAX_PAGES {
            let what = format!("DescribeAutoScalingGroups {} (page {page})", key.name);
            let answer = with_retry(&self.retry, RequestKind::Read, || {
                let request = client
                    .describe_auto_scaling_groups()
                    .auto_scaling_group_names(&key.name)
                    .set_next_token(token.clone());
                let what = what.clone();
                async move { request.send().await.map_err(|err| sdk_failure(&what, &err)) }
            })
            .await?;
            // A server that ignores the name filter lists other groups too: only the named one counts.
            found.extend(
                answer
                    .auto_scaling_groups()
                    .iter()
                    .filter(|g| g.auto_scaling_group_name() == Some(key.name.as_str()))
                    .cloned(),
            );
            match answer.next_token() {
                Some(next) if token.as_deref() == Some(next) => {
                    return Err(ProviderError::Paging {
                        what,
                        detail: "the server sent the same NextToken again".into(),
                    })
                }
                Some(next) => token = Some(next.to_string()),
                None => break,
            }
            if page == MAX_PAGES {
                return Err(ProviderError::Paging { what, detail: format!("more than {MAX_PAGES} pages") });
            }
        }
        let what = format!("DescribeAutoScalingGroups {}", key.name);
        match found.len() {
            0 => Err(ProviderError::NotFound {
                what,
                detail: Some(format!("no Auto Scaling group named `{}` in {}", key.name, self.config.region)),
            }),
            1 => Ok(found.remove(0)),
            n => Err(ProviderError::BadResponse { what, detail: format!("the group is listed {n} times") }),
        }
    }

    async fn read_hooks(&self, key: &ScaleSetKey) -> Result<Vec<LifecycleHook>, ProviderError> {
        let client = &self.clients().await.autoscaling;
        let what = format!("DescribeLifecycleHooks {}", key.name);
        let answer = with_retry(&self.retry, RequestKind::Read, || {
            let request = client.describe_lifecycle_hooks().auto_scaling_group_name(&key.name);
            let what = what.clone();
            async move { request.send().await.map_err(|err| sdk_failure(&what, &err)) }
        })
        .await?;
        Ok(answer.lifecycle_hooks().to_vec())
    }

    async fn read_refreshes(&self, key: &ScaleSetKey) -> Result<Vec<InstanceRefresh>, ProviderError> {
        let client = &self.clients().await.autoscaling;
        let what = format!("DescribeInstanceRefreshes {}", key.name);
        // One page: the refreshes come newest first, and only one can be running.
        let answer = with_retry(&self.retry, RequestKind::Read, || {
            let request =
                client.describe_instance_refreshes().auto_scaling_group_name(&key.name).max_records(10);
            let what = what.clone();
            async move { request.send().await.map_err(|err| sdk_failure(&what, &err)) }
        })
        .await?;
        Ok(answer.instance_refreshes().to_vec())
    }

    /// Every instance of the group's warm pool, all pages.
    async fn read_warm_pool(&self, key: &ScaleSetKey) -> Result<Vec<AsgInstance>, ProviderError> {
        let client = &self.clients().await.autoscaling;
        let mut token: Option<String> = None;
        let mut instances = Vec::new();
        for page in 1..=MAX_PAGES {
            let what = format!("DescribeWarmPool {} (page {page})", key.name);
            let answer = with_retry(&self.retry, RequestKind::Read, || {
                let request = client
                    .describe_warm_pool()
                    .auto_scaling_group_name(&key.name)
                    .set_next_token(token.clone());
                let what = what.clone();
                async move { request.send().await.map_err(|err| sdk_failure(&what, &err)) }
            })
            .await?;
            instances.extend(answer.instances().iter().cloned());
            match answer.next_token() {
                Some(next) if token.as_deref() == Some(next) => {
                    return Err(ProviderError::Paging {
                        what,
                        detail: "the server sent the same NextToken again".into(),
                    })
                }
                Some(next) => token = Some(next.to_string()),
                None => return Ok(instances),
            }
        }
        Err(ProviderError::Paging {
            what: format!("DescribeWarmPool {}", key.name),
            detail: format!("more than {MAX_PAGES} pages"),
        })
    }

    /// The group and its instances, read once (see the module comment for the requests).
    async fn read_listing(&self, key: &ScaleSetKey) -> Result<ScaleSetListing, ProviderError> {
        let group = self.read_group(key).await?;
        let has_warm_pool = group.warm_pool_configuration().is_some();
        let warm = async {
            if has_warm_pool {
                self.read_warm_pool(key).await
            } else {
                Ok(Vec::new())
            }
        };
        let (hooks, refreshes, warm) = tokio::join!(self.read_hooks(key), self.read_refreshes(key), warm);
        let (hooks, refreshes, warm) = (hooks?, refreshes?, warm?);
        if let Some(size) = group.warm_pool_size().and_then(|s| u64::try_from(s).ok()) {
            // A warm pool page lost (its NextToken dropped) hides instances whose targets would
            // then look orphaned: the pool's own size gives it away.
            let listed =
                warm.iter().filter_map(|i| i.instance_id()).collect::<std::collections::HashSet<_>>().len()
                    as u64;
            if listed < size {
                return Err(ProviderError::Paging {
                    what: format!("DescribeWarmPool {}", key.name),
                    detail: format!(
                        "the warm pool lists {listed} distinct instance(s) but the group reports WarmPoolSize \
                         {size}: a page was lost, so the listing is incomplete"
                    ),
                });
            }
        }
        // Read for every group, whatever its `match`: besides names, EC2's group tag is what shows
        // a listed instance is the group's (`completeness`).
        let ids: Vec<String> = group
            .instances()
            .iter()
            .chain(&warm)
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect();
        let clients = self.clients().await;
        let endpoint = self.ec2_endpoint();
        let reader = ec2::Ec2Reader {
            http: &self.http,
            sdk: &clients.sdk,
            endpoint: &endpoint,
            region: &self.config.region,
            retry: &self.retry,
        };
        let ec2 = reader.describe(&ids).await?;
        let read = group::GroupRead {
            key,
            region: &self.config.region,
            group: &group,
            hooks: &hooks,
            warm: &warm,
            refreshes: &refreshes,
            ec2: Some(&ec2),
        };
        let (state, instances) = group::convert(&read).map_err(|detail| ProviderError::BadResponse {
            what: format!("DescribeAutoScalingGroups {}", key.name),
            detail,
        })?;
        Ok(ScaleSetListing { state, instances, reread: None, foreign: Vec::new() })
    }

    /// A write with our retry policy (`kind` says how safe a repeat is).
    async fn write<T, F, Fut>(&self, kind: RequestKind, send: F) -> Result<T, ProviderError>
    where
        F: Fn(aws_sdk_autoscaling::Client) -> Fut,
        Fut: std::future::Future<Output = Result<T, call::Failure>>,
    {
        let client = self.clients().await.autoscaling.clone();
        with_retry(&self.retry, kind, || send(client.clone())).await
    }
}

/// A write answered ambiguously (`failure`) whose read-back (`unread`) failed too: it may have
/// landed, and is not sent again.
fn may_have_landed(what: String, failure: &ProviderError, unread: &ProviderError) -> ProviderError {
    ProviderError::OperationFailed {
        what,
        detail: Some(format!(
            "{failure}; it may have landed, but reading the group back failed ({unread}): not sent again, check the \
             group before trying again"
        )),
    }
}

impl ScaleSetProvider for AwsProvider {
    fn name(&self) -> &'static str {
        "aws"
    }

    /// The group alone (one request): its capacity, limits and instances' states; hooks, warm
    /// pool and refreshes come with [`ScaleSetProvider::listing`].
    fn get_scale_set<'a>(&'a self, key: &'a ScaleSetKey) -> ProviderFuture<'a, ScaleSetState> {
        Box::pin(async move {
            let group = self.read_group(key).await?;
            let read = group::GroupRead {
                key,
                region: &self.config.region,
                group: &group,
                hooks: &[],
                warm: &[],
                refreshes: &[],
                ec2: None,
            };
            group::convert(&read).map(|(state, _)| state).map_err(|detail| ProviderError::BadResponse {
                what: format!("DescribeAutoScalingGroups {}", key.name),
                detail,
            })
        })
    }

    fn list_instances<'a>(&'a self, key: &'a ScaleSetKey) -> ProviderFuture<'a, Vec<Instance>> {
        Box::pin(async move { Ok(self.read_listing(key).await?.instances) })
    }

    fn list_members<'a>(&'a self, state: &'a ScaleSetState) -> ProviderFuture<'a, Members> {
        Box::pin(async move {
            Ok(Members { instances: self.read_listing(&state.key).await?.instances, foreign: Vec::new() })
        })
    }

    /// One read of the group with its instances inline: nothing to read again after a last page.
    fn listing<'a>(&'a self, key: &'a ScaleSetKey) -> ProviderFuture<'a, ScaleSetListing> {
        Box::pin(self.read_listing(key))
    }

    fn set_capacity<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        capacity: u32,
        etag: &'a str,
    ) -> ProviderFuture<'a, Operation> {
        Box::pin(async move {
            let what = format!("SetDesiredCapacity of {} to {capacity}", key.name);
            let expected = group::desired_of_etag(etag).ok_or_else(|| ProviderError::BadResponse {
                what: what.clone(),
                detail: format!("`{etag}` is not the desired capacity an AWS group was read with"),
            })?;
            // No ETag on AWS: read the desired capacity again right before the write; a moved one
            // means someone else scaled in between, and the caller asks again.
            let now = self.read_group(key).await?.desired_capacity();
            if now != i32::try_from(expected).ok() {
                return Err(ProviderError::PreconditionFailed {
                    what,
                    detail: Some(format!(
                        "the desired capacity is {} now, not the {expected} it was read with",
                        now.map_or("unknown".into(), |n| n.to_string())
                    )),
                    http: None,
                });
            }
            let desired = i32::try_from(capacity).map_err(|_| ProviderError::Rejected {
                what: what.clone(),
                status: 400,
                detail: Some(format!("{capacity} is beyond what the API takes")),
            })?;
            let honor = self.config.honor_cooldown;
            // Sent once: with no ETag, a repeat after the first may have acted would set the
            // capacity again over whatever changed it meanwhile (a scaling policy, an operator).
            // Only a throttled call, refused unprocessed, is sent again.
            let sent = self
                .write(RequestKind::UnguardedWrite, |client| {
                    let what = what.clone();
                    let name = key.name.clone();
                    async move {
                        client
                            .set_desired_capacity()
                            .auto_scaling_group_name(name)
                            .desired_capacity(desired)
                            .honor_cooldown(honor)
                            .send()
                            .await
                            .map_err(|err| sdk_failure(&what, &err))
                    }
                })
                .await;
            match sent {
                Ok(_) => Ok(Operation::Done),
                // The answer was lost, or came after AWS may have acted: what the group wants now
                // tells whether the write landed.
                Err(failure) if failure.may_have_acted() => {
                    let now = match self.read_group(key).await {
                        Ok(group) => group.desired_capacity(),
                        Err(unread) => return Err(may_have_landed(what, &failure, &unread)),
                    };
                    if now == Some(desired) {
                        tracing::warn!("{failure}; read back, the group wants {capacity}: the write landed");
                        return Ok(Operation::Done);
                    }
                    let now = now.map_or("an unknown capacity".into(), |n| n.to_string());
                    Err(ProviderError::OperationFailed {
                        what,
                        detail: Some(format!(
                            "{failure}; read back, the group wants {now} (it was {expected}): the write did not land, or \
                             someone else scaled the group since; not sent again"
                        )),
                    })
                }
                Err(refused) => Err(refused),
            }
        })
    }

    /// Terminate each instance with ShouldDecrementDesiredCapacity=true: the group shrinks by one
    /// per instance and launches no replacement.
    fn delete_instances<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        instance_ids: &'a [String],
    ) -> ProviderFuture<'a, Operation> {
        Box::pin(async move {
            // TerminateInstanceInAutoScalingGroup names no group: an id must be the group's now.
            let group = self.read_group(key).await?;
            let listed: std::collections::HashSet<&str> =
                group.instances().iter().filter_map(|i| i.instance_id()).collect();
            if let Some(foreign) = instance_ids.iter().find(|id| !listed.contains(id.as_str())) {
                return Err(ProviderError::Rejected {
                    what: format!("TerminateInstanceInAutoScalingGroup {foreign}"),
                    status: 400,
                    detail: Some(format!(
                        "{foreign} is not an instance of {} now: nothing was terminated",
                        key.name
                    )),
                });
            }
            for id in instance_ids {
                let what = format!("TerminateInstanceInAutoScalingGroup {id} of {}", key.name);
                // A repeat after a lost answer could decrement twice: only a throttled call is sent again.
                self.write(RequestKind::UnguardedWrite, |client| {
                    let what = what.clone();
                    let id = id.clone();
                    async move {
                        client
                            .terminate_instance_in_auto_scaling_group()
                            .instance_id(id)
                            .should_decrement_desired_capacity(true)
                            .send()
                            .await
                            .map_err(|err| sdk_failure(&what, &err))
                    }
                })
                .await?;
            }
            Ok(Operation::Done)
        })
    }

    fn set_scale_in_protection<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        instance_id: &'a str,
        protect: bool,
    ) -> ProviderFuture<'a, Operation> {
        Box::pin(async move {
            let what = format!("SetInstanceProtection {instance_id} of {} to {protect}", key.name);
            self.write(RequestKind::GuardedWrite, |client| {
                let what = what.clone();
                let name = key.name.clone();
                async move {
                    client
                        .set_instance_protection()
                        .auto_scaling_group_name(name)
                        .instance_ids(instance_id)
                        .protected_from_scale_in(protect)
                        .send()
                        .await
                        .map_err(|err| sdk_failure(&what, &err))
                }
            })
            .await?;
            Ok(Operation::Done)
        })
    }

    fn wait<'a>(&'a self, operation: &'a Operation) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            match operation {
                Operation::Done => Ok(()),
                other => Err(ProviderError::Unsupported {
                    what: "waiting on an AWS operation".into(),
                    detail: format!("AWS calls finish when answered; {other:?} is not one of them"),
                }),
            }
        })
    }

    /// Azure Autoscale has no AWS counterpart here: scaling policies act through activities,
    /// which `changes_since` reads.
    fn autoscale<'a>(&'a self, _key: &'a ScaleSetKey) -> ProviderFuture<'a, Option<Setting>> {
        Box::pin(async { Ok(None) })
    }

    fn put_autoscale<'a>(
        &'a self,
        setting: &'a Setting,
        _body: &'a serde_json::Value,
    ) -> ProviderFuture<'a, Setting> {
        Box::pin(async move {
            Err(ProviderError::Unsupported {
                what: format!("autoscale setting {}", setting.name),
                detail: "Azure Autoscale settings do not apply to an AWS Auto Scaling group".into(),
            })
        })
    }

    fn changes_since<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        _setting: Option<&'a Setting>,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> ProviderFuture<'a, Vec<ScaleChange>> {
        Box::pin(async move {
            let client = self.clients().await.autoscaling.clone();
            activities::read(&client, &self.retry, key, since, until).await
        })
    }

    fn complete_lifecycle<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        instance_id: &'a str,
        hook: &'a str,
        result: LifecycleResult,
    ) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            let what = format!("CompleteLifecycleAction {hook} {result} for {instance_id} of {}", key.name);
            let complete = |kind| {
                self.write(kind, |client| {
                    let what = what.clone();
                    let name = key.name.clone();
                    async move {
                        client
                            .complete_lifecycle_action()
                            .auto_scaling_group_name(name)
                            .lifecycle_hook_name(hook)
                            .instance_id(instance_id)
                            .lifecycle_action_result(result.as_str())
                            .send()
                            .await
                            .map_err(|err| sdk_failure(&what, &err))
                    }
                })
            };
            // Not repeated blindly: AWS refuses a second completion ("no active lifecycle action"),
            // which would then read as someone else's doing. After an answer that may have come
            // once AWS acted, the group tells: an instance no longer waiting was let go.
            match complete(RequestKind::UnguardedWrite).await {
                Ok(_) => Ok(()),
                Err(failure) if failure.may_have_acted() => {
                    // The listing, warm pool included (the group's own answer leaves it out).
                    let listing = match self.read_listing(key).await {
                        Ok(listing) => listing,
                        Err(unread) => return Err(may_have_landed(what, &failure, &unread)),
                    };
                    let waits = listing.instances.iter().any(|instance| {
                        instance.instance_id == instance_id
                            && instance
                                .lifecycle_state()
                                .is_some_and(|state| state.as_str().to_ascii_lowercase().ends_with(":wait"))
                    });
                    if !waits {
                        tracing::warn!("{failure}; read back, {instance_id} no longer waits on a hook: the completion landed");
                        return Ok(());
                    }
                    // It still waits, so the completion did not land; a second one cannot act twice.
                    complete(RequestKind::GuardedWrite).await.map(|_| ())
                }
                Err(refused) => Err(refused),
            }
        })
    }

    fn lifecycle_heartbeat<'a>(
        &'a self,
        key: &'a ScaleSetKey,
        instance_id: &'a str,
        hook: &'a str,
    ) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            let what = format!("RecordLifecycleActionHeartbeat {hook} for {instance_id} of {}", key.name);
            self.write(RequestKind::GuardedWrite, |client| {
                let what = what.clone();
                let name = key.name.clone();
                async move {
                    client
                        .record_lifecycle_action_heartbeat()
                        .auto_scaling_group_name(name)
                        .lifecycle_hook_name(hook)
                        .instance_id(instance_id)
                        .send()
                        .await
                        .map_err(|err| sdk_failure(&what, &err))
                }
            })
            .await?;
            Ok(())
        })
    }
}
