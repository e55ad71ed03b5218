//! Injected faults (applied to the next N matching requests) and the request counters.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `{"target":"arm"|"octopus"|"<path prefix>","kind":"429"|...,"count":N}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultSpec {
    pub target: String,
    pub kind: String,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    TooManyRequests {
        retry_after_secs: u64,
    },
    ServerError,
    Unavailable,
    Delay {
        ms: u64,
    },
    SlowReply {
        ms: u64,
    },
    /// Status and headers at once, the body only after `ms` (a stall mid-answer).
    SlowBody {
        ms: u64,
    },
    TruncatedPage,
    MalformedJson,
    Unauthorized,
    ExpiredToken,
    Forbidden,
    /// A hostile or careless server: 401 whose message quotes the credential the request carried.
    EchoSecret,
    /// 302 to the same path on another origin (`localhost` instead of `127.0.0.1`, same port),
    /// where the simulator answers an empty collection and counts the credentials it received.
    Redirect,
    /// Collections: `TotalResults` far above the real count, and a `skip` past the end answered
    /// with the last page again (a server that clamps `skip`).
    LyingTotal,
    /// Collections: every page is the first one, whatever `skip` asks (`TotalResults` honest).
    IgnoreSkip,
    /// Act on the request, then answer 503 as if nothing happened (an ambiguous failure).
    ActThen503,
    /// Act on the request, then answer 429 (a throttle that lies: the client retries).
    ActThen429 {
        retry_after_secs: u64,
    },
    /// Answer 200 `{}` without acting (a DELETE that deletes nothing).
    OkNoop,
    /// Reshapes an ARM answer instead of replacing it (see [`ArmShape`]).
    Arm(ArmShape),
    /// Reshapes an Octopus answer instead of replacing it (see [`OctopusShape`]).
    Octopus(OctopusShape),
    /// AWS: every lifecycle action waiting in the group the request names times out before it
    /// is served (the hook's DefaultResult applies), as if its heartbeat timeout had passed
    /// while the client's action ran.
    HookTimeout,
}

/// Hostile but well-formed ARM answers (the scale-set GET and the VM list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArmShape {
    /// `truncated_while_updating`: the set reports `Updating` and the VM page loses its nextLink.
    TruncatedWhileUpdating,
    /// `duplicate_vm`: a later page repeats the previous page's last VM in place of its own last
    /// one (the count stays right, one VM goes missing).
    DuplicateVm,
    /// `no_os_profile` (a specialized image: the instance view still names it), `unnamed_vm` (no
    /// name anywhere), `null_computer_name`, `empty_computer_name`: every VM of the page.
    Unnamed(Unnamed),
    /// `foreign_next_link:PORT`: the nextLink points at 127.0.0.1:PORT instead of this server.
    ForeignNextLink { port: u16 },
    /// `paging_loop`: the nextLink points back to the first page.
    PagingLoop,
    /// `no_capacity`, `negative_capacity`, `huge_capacity`: the set's `sku.capacity` absent, -1
    /// or 4294967295.
    Capacity(CapacityShape),
    /// `foreign_set_vm`: the last page's last VM is replaced by a VM of another scale set
    /// (`vmss-other_900`, its id under that set): the count stays right, one VM goes missing.
    ForeignSetVm,
    /// `alias_vm`: the last page's last VM is replaced by the first VM again, as instance id
    /// "0<id>" with its vmId in upper case.
    AliasVm,
    /// `deleting_stand_in`: the last page's last VM is replaced by a VM in `Deleting` under a
    /// fresh instance id (one deleted on its own, which capacity already leaves out).
    DeletingStandIn,
    /// `renamed_guest`: every VM's instance view reports the computer name `GUEST-<instanceId>`
    /// (osProfile keeps the name it was created with).
    RenamedGuest,
    /// `vm_id_case`: every vmId in upper case.
    VmIdCase,
    /// `filter_rejected`: a Flexible set's VM list answers 400 to its `$filter`.
    FilterRejected,
    /// `foreign_vm`: one VM of a Flexible set's VM page reports another scale set (it left the
    /// set, or the filter was not applied).
    ForeignVm,
    /// `unencoded_next_link`: a Flexible set's VM page gives its nextLink with the `$filter`
    /// unencoded (spaces and quotes as they are), as Azure did until mid-2024.
    UnencodedNextLink,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityShape {
    Absent,
    Negative,
    Huge,
}

/// Hostile but well-formed Octopus answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OctopusShape {
    /// `no_total`: collections without `TotalResults`.
    NoTotal,
    /// `oldest_first`: a page's items in reverse order (deployments oldest first).
    OldestFirst,
    /// `traversal_id`: the last page of a collection gains a copy of its first item whose Id is
    /// `Machines-99/../<that item's id>` and Name `legacyweb01` (TotalResults counts it).
    TraversalId,
    /// `no_deployed_to`: deployments carry `DeployedToMachineIds: null` (as an Octopus 3.x server
    /// sends no such field).
    NoDeployedTo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unnamed {
    NoOsProfile,
    Nowhere,
    Null,
    Empty,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown fault kind `{0}` (known: 429, throttling, 500, 503, delay, slow_reply, slow_body, truncated_page, malformed_json, 401, 403, expired_token, echo_secret, redirect, lying_total, ignore_skip, act_then_503, act_then_429, ok_noop, truncated_while_updating, duplicate_vm, no_os_profile, unnamed_vm, null_computer_name, empty_computer_name, foreign_next_link:PORT, paging_loop, no_capacity, negative_capacity, huge_capacity, foreign_set_vm, alias_vm, deleting_stand_in, renamed_guest, vm_id_case, no_total, oldest_first, traversal_id, no_deployed_to, filter_rejected, foreign_vm, unencoded_next_link, lost_next_token, hook_timeout)")]
pub struct UnknownFault(String);

impl FaultSpec {
    pub fn kind(&self) -> Result<FaultKind, UnknownFault> {
        Ok(match self.kind.as_str() {
            // AWS answers throttling as `Throttling` (Auto Scaling) or `RequestLimitExceeded` (EC2).
            "429" | "throttling" => {
                FaultKind::TooManyRequests { retry_after_secs: self.retry_after_secs.unwrap_or(1) }
            }
            "500" => FaultKind::ServerError,
            "503" => FaultKind::Unavailable,
            "delay" => FaultKind::Delay { ms: self.delay_ms.unwrap_or(1000) },
            // Act on the request, then wait before answering: a client that gives up (or dies)
            // in between has had its change made without seeing the answer.
            "slow_reply" => FaultKind::SlowReply { ms: self.delay_ms.unwrap_or(1000) },
            "slow_body" => FaultKind::SlowBody { ms: self.delay_ms.unwrap_or(1000) },
            // An AWS page that ends early without its NextToken.
            "truncated_page" | "lost_next_token" => FaultKind::TruncatedPage,
            "hook_timeout" => FaultKind::HookTimeout,
            "malformed_json" => FaultKind::MalformedJson,
            "401" => FaultKind::Unauthorized,
            "403" => FaultKind::Forbidden,
            "expired_token" => FaultKind::ExpiredToken,
            "echo_secret" => FaultKind::EchoSecret,
            "redirect" => FaultKind::Redirect,
            "lying_total" => FaultKind::LyingTotal,
            "ignore_skip" => FaultKind::IgnoreSkip,
            "act_then_503" => FaultKind::ActThen503,
            "act_then_429" => FaultKind::ActThen429 { retry_after_secs: self.retry_after_secs.unwrap_or(1) },
            "ok_noop" => FaultKind::OkNoop,
            "truncated_while_updating" => FaultKind::Arm(ArmShape::TruncatedWhileUpdating),
            "duplicate_vm" => FaultKind::Arm(ArmShape::DuplicateVm),
            "no_os_profile" => FaultKind::Arm(ArmShape::Unnamed(Unnamed::NoOsProfile)),
            "unnamed_vm" => FaultKind::Arm(ArmShape::Unnamed(Unnamed::Nowhere)),
            "null_computer_name" => FaultKind::Arm(ArmShape::Unnamed(Unnamed::Null)),
            "empty_computer_name" => FaultKind::Arm(ArmShape::Unnamed(Unnamed::Empty)),
            "paging_loop" => FaultKind::Arm(ArmShape::PagingLoop),
            "no_capacity" => FaultKind::Arm(ArmShape::Capacity(CapacityShape::Absent)),
            "negative_capacity" => FaultKind::Arm(ArmShape::Capacity(CapacityShape::Negative)),
            "huge_capacity" => FaultKind::Arm(ArmShape::Capacity(CapacityShape::Huge)),
            "foreign_set_vm" => FaultKind::Arm(ArmShape::ForeignSetVm),
            "alias_vm" => FaultKind::Arm(ArmShape::AliasVm),
            "deleting_stand_in" => FaultKind::Arm(ArmShape::DeletingStandIn),
            "renamed_guest" => FaultKind::Arm(ArmShape::RenamedGuest),
            "vm_id_case" => FaultKind::Arm(ArmShape::VmIdCase),
            "no_total" => FaultKind::Octopus(OctopusShape::NoTotal),
            "oldest_first" => FaultKind::Octopus(OctopusShape::OldestFirst),
            "traversal_id" => FaultKind::Octopus(OctopusShape::TraversalId),
            "no_deployed_to" => FaultKind::Octopus(OctopusShape::NoDeployedTo),
            "filter_rejected" => FaultKind::Arm(ArmShape::FilterRejected),
            "foreign_vm" => FaultKind::Arm(ArmShape::ForeignVm),
            "unencoded_next_link" => FaultKind::Arm(ArmShape::UnencodedNextLink),
            other => match other.strip_prefix("foreign_next_link:").map(str::parse) {
                // Loopback only: the simulator never points anywhere else.
                Some(Ok(port)) => FaultKind::Arm(ArmShape::ForeignNextLink { port }),
                _ => return Err(UnknownFault(other.to_string())),
            },
        })
    }
}

/// Which API a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Arm,
    Octopus,
    /// Amazon EC2 Auto Scaling and EC2 (the query protocols on `/`).
    Aws,
}

#[derive(Debug, Default)]
pub struct FaultQueue {
    rules: Vec<(FaultSpec, FaultKind, u32)>,
}

impl FaultQueue {
    pub fn push(&mut self, spec: FaultSpec) -> Result<(), UnknownFault> {
        let kind = spec.kind()?;
        let count = spec.count;
        self.rules.push((spec, kind, count));
        Ok(())
    }

    /// The fault for this request, if a rule matches: consumes one of its uses. `path` is the
    /// request path for ARM and Octopus, the call's name (`autoscaling.SetDesiredCapacity`) for
    /// AWS, so a target `autoscaling`, `ec2` or one action's name picks AWS calls.
    pub fn take(&mut self, api: Api, path: &str) -> Option<FaultKind> {
        let path = path.to_ascii_lowercase();
        let rule = self.rules.iter_mut().find(|(spec, _, left)| {
            *left > 0
                && match spec.target.as_str() {
                    "arm" => api == Api::Arm,
                    "octopus" => api == Api::Octopus,
                    "aws" => api == Api::Aws,
                    prefix => path.starts_with(&prefix.to_ascii_lowercase()),
                }
        })?;
        rule.2 -= 1;
        let kind = rule.1;
        self.rules.retain(|(_, _, left)| *left > 0);
        Some(kind)
    }

    pub fn pending(&self) -> u32 {
        self.rules.iter().map(|(_, _, left)| left).sum()
    }
}

/// Requests served, in total and per endpoint kind (`arm.list_vms`, `octopus.machines`, ...).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stats {
    pub total: u64,
    pub arm: u64,
    pub octopus: u64,
    #[serde(default)]
    pub aws: u64,
    pub by_endpoint: BTreeMap<String, u64>,
}

impl Stats {
    pub fn count(&mut self, api: Api, endpoint: &str) {
        self.total += 1;
        match api {
            Api::Arm => self.arm += 1,
            Api::Octopus => self.octopus += 1,
            Api::Aws => self.aws += 1,
        }
        *self.by_endpoint.entry(endpoint.to_string()).or_default() += 1;
    }

    /// A request that reached the simulator's "other origin" (`FaultKind::Redirect`):
    /// `foreign.requests`, and `foreign.credentials` when it carried an API key or a token.
    pub fn count_foreign(&mut self, carried_credential: bool) {
        *self.by_endpoint.entry("foreign.requests".into()).or_default() += 1;
        if carried_credential {
            *self.by_endpoint.entry("foreign.credentials".into()).or_default() += 1;
        }
    }

    pub fn get(&self, endpoint: &str) -> u64 {
        self.by_endpoint.get(endpoint).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(target: &str, kind: &str, count: u32) -> FaultSpec {
        FaultSpec { target: target.into(), kind: kind.into(), count, retry_after_secs: None, delay_ms: None }
    }

    #[test]
    fn a_fault_applies_to_exactly_count_matching_requests() {
        let mut queue = FaultQueue::default();
        queue.push(spec("octopus", "500", 2)).unwrap();
        assert_eq!(queue.take(Api::Arm, "/subscriptions/x"), None);
        assert_eq!(queue.take(Api::Octopus, "/api/Spaces-1/machines"), Some(FaultKind::ServerError));
        assert_eq!(queue.take(Api::Octopus, "/api/tasks"), Some(FaultKind::ServerError));
        assert_eq!(queue.take(Api::Octopus, "/api/tasks"), None);
    }

    #[test]
    fn path_prefix_target_is_case_insensitive() {
        let mut queue = FaultQueue::default();
        queue.push(spec("/api/Spaces-1/Machines", "503", 1)).unwrap();
        assert_eq!(queue.take(Api::Octopus, "/api/tasks"), None);
        assert_eq!(queue.take(Api::Octopus, "/api/spaces-1/machines"), Some(FaultKind::Unavailable));
    }

    #[test]
    fn slow_reply_takes_the_delay() {
        let spec = FaultSpec { delay_ms: Some(40), ..spec("octopus", "slow_reply", 1) };
        assert_eq!(spec.kind().unwrap(), FaultKind::SlowReply { ms: 40 });
    }

    #[test]
    fn arm_shapes_parse_with_their_port() {
        let kind = |k: &str| spec("arm", k, 1).kind().map_err(|e| e.to_string());
        assert_eq!(
            kind("foreign_next_link:4123"),
            Ok(FaultKind::Arm(ArmShape::ForeignNextLink { port: 4123 }))
        );
        assert_eq!(kind("unnamed_vm"), Ok(FaultKind::Arm(ArmShape::Unnamed(Unnamed::Nowhere))));
        assert!(kind("foreign_next_link:example.com").is_err_and(|e| e.contains("foreign_next_link:PORT")));
    }

    #[test]
    fn hostile_server_kinds_parse() {
        let kind = |k: &str| spec("octopus", k, 1).kind().unwrap();
        assert_eq!(kind("redirect"), FaultKind::Redirect);
        assert_eq!(kind("lying_total"), FaultKind::LyingTotal);
        assert_eq!(kind("ignore_skip"), FaultKind::IgnoreSkip);
        assert_eq!(kind("act_then_503"), FaultKind::ActThen503);
        assert_eq!(kind("act_then_429"), FaultKind::ActThen429 { retry_after_secs: 1 });
        assert_eq!(kind("ok_noop"), FaultKind::OkNoop);
    }

    #[test]
    fn review_shapes_parse() {
        let kind = |k: &str| spec("arm", k, 1).kind().unwrap();
        assert_eq!(kind("huge_capacity"), FaultKind::Arm(ArmShape::Capacity(CapacityShape::Huge)));
        assert_eq!(kind("alias_vm"), FaultKind::Arm(ArmShape::AliasVm));
        assert_eq!(kind("no_total"), FaultKind::Octopus(OctopusShape::NoTotal));
        assert_eq!(kind("traversal_id"), FaultKind::Octopus(OctopusShape::TraversalId));
    }

    #[test]
    fn aws_faults_target_a_service_or_one_action() {
        let mut queue = FaultQueue::default();
        queue.push(spec("autoscaling.DescribeAutoScalingGroups", "throttling", 1)).unwrap();
        queue.push(spec("ec2", "lost_next_token", 1)).unwrap();
        queue.push(spec("aws", "hook_timeout", 1)).unwrap();
        assert_eq!(queue.take(Api::Aws, "autoscaling.SetDesiredCapacity"), Some(FaultKind::HookTimeout));
        assert_eq!(
            queue.take(Api::Aws, "autoscaling.DescribeAutoScalingGroups"),
            Some(FaultKind::TooManyRequests { retry_after_secs: 1 })
        );
        assert_eq!(queue.take(Api::Arm, "/subscriptions/x"), None);
        assert_eq!(queue.take(Api::Aws, "ec2.DescribeInstances"), Some(FaultKind::TruncatedPage));
    }

    #[test]
    fn unknown_kind_is_refused() {
        assert!(FaultQueue::default().push(spec("arm", "teapot", 1)).is_err());
    }
}
