//! Wire types → domain types. Unknown enum spellings are kept (`Other`), never a panic.

use super::wire;
use super::MachinePolicy;
use crate::model::{
    Deployment, Endpoint, HealthStatus, Node, Release, SharedList, SharedText, Target, Task, TaskState,
    TenantedMode,
};
use std::collections::HashSet;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Octopus timestamps are ISO 8601 with an offset; anything unparseable is treated as absent.
pub fn timestamp(raw: Option<&str>) -> Option<OffsetDateTime> {
    raw.and_then(|value| OffsetDateTime::parse(value.trim(), &Rfc3339).ok())
}

/// One copy of each text and list a listing's targets repeat: most targets of an environment
/// carry the same roles, environments, machine policy and communication style.
#[derive(Default)]
pub struct Repeated {
    texts: HashSet<SharedText>,
    lists: HashSet<SharedList>,
}

impl Repeated {
    fn text(&mut self, text: String) -> SharedText {
        if let Some(known) = self.texts.get(text.as_str()) {
            return known.clone();
        }
        let shared: SharedText = text.into();
        self.texts.insert(shared.clone());
        shared
    }

    fn list(&mut self, list: Vec<String>) -> SharedList {
        if let Some(known) = self.lists.get(list.as_slice()) {
            return known.clone();
        }
        let shared: SharedList = list.into();
        self.lists.insert(shared.clone());
        shared
    }
}

/// A machine as a target, what it repeats of earlier ones shared through `repeated`.
pub fn target(m: wire::MachineResource, repeated: &mut Repeated) -> Target {
    let endpoint = m.endpoint.unwrap_or(wire::EndpointResource {
        communication_style: None,
        uri: None,
        thumbprint: None,
    });
    let mut roles = m.roles;
    for tag in m.target_tags {
        if !roles.iter().any(|role| role.eq_ignore_ascii_case(&tag)) {
            roles.push(tag);
        }
    }
    // An unknown participation is read as Tenanted: never in an untenanted deployment, and in a
    // tenant's only when explicitly connected to it.
    let tenanted = m
        .tenanted_deployment_participation
        .as_deref()
        .map_or(TenantedMode::Untenanted, |raw| TenantedMode::parse(raw).unwrap_or(TenantedMode::Tenanted));
    // The machine's thumbprint and its endpoint's are usually the same text: one copy.
    let machine_thumbprint = m.thumbprint.map(|t| repeated.text(t));
    let endpoint_thumbprint = endpoint.thumbprint.map(|t| repeated.text(t));
    let mut tenant_ids = m.tenant_ids;
    let mut tenant_tags = m.tenant_tags;
    tenant_ids.shrink_to_fit();
    tenant_tags.shrink_to_fit();
    Target {
        id: m.id,
        name: m.name,
        roles: repeated.list(roles),
        environment_ids: repeated.list(m.environment_ids),
        health: HealthStatus::parse(m.health_status.as_deref().unwrap_or("")),
        disabled: m.is_disabled,
        machine_policy_id: m.machine_policy_id.map(|p| repeated.text(p)),
        thumbprint: machine_thumbprint.clone().or_else(|| endpoint_thumbprint.clone()),
        endpoint: Endpoint {
            communication_style: repeated.text(endpoint.communication_style.unwrap_or_else(|| "None".into())),
            uri: endpoint.uri.or(m.uri),
            thumbprint: endpoint_thumbprint.or(machine_thumbprint),
        },
        has_latest_calamari: m.has_latest_calamari,
        tenanted,
        tenant_ids,
        tenant_tags,
    }
}

pub fn node(n: wire::NodeStatus) -> Node {
    Node {
        id: n.id,
        name: n.name,
        last_seen: timestamp(n.last_seen.as_deref()),
        is_offline: n.is_offline,
        drain: n.is_in_maintenance_mode,
        max_concurrent_tasks: n.max_concurrent_tasks,
        running_tasks: n.running_task_count,
        version: n.version,
    }
}

/// None when the state is not one Octopus documents (the caller reports it).
pub fn task(t: wire::TaskResource) -> Option<Task> {
    Some(Task {
        state: TaskState::parse(&t.state)?,
        id: t.id,
        name: t.name.unwrap_or_default(),
        description: t.description.unwrap_or_default(),
        server_node: t.server_node,
        deployment_id: t.arguments.deployment_id,
        queue_time: timestamp(t.queue_time.as_deref()),
        start_time: timestamp(t.start_time.as_deref()),
        completed_time: timestamp(t.completed_time.as_deref()),
    })
}

pub fn release(r: wire::ReleaseResource, project_id: &str) -> Release {
    Release {
        id: r.id,
        project_id: r.project_id.unwrap_or_else(|| project_id.to_string()),
        version: r.version.unwrap_or_default(),
    }
}

pub fn deployment(d: wire::DeploymentResource, task_state: Option<TaskState>) -> Deployment {
    Deployment {
        id: d.id,
        project_id: d.project_id.unwrap_or_default(),
        release_id: d.release_id.unwrap_or_default(),
        environment_id: d.environment_id.unwrap_or_default(),
        specific_machine_ids: d.specific_machine_ids,
        excluded_machine_ids: d.excluded_machine_ids,
        deployed_to_machine_ids: d.deployed_to_machine_ids,
        task_id: d.task_id,
        task_state,
        created: timestamp(d.created.as_deref()),
        comments: d.comments,
        tenant_id: d.tenant_id.filter(|t| !t.is_empty()),
    }
}

pub fn machine_policy(p: wire::MachinePolicyResource) -> MachinePolicy {
    let cleanup = p.machine_cleanup_policy;
    MachinePolicy {
        id: p.id,
        name: p.name,
        is_default: p.is_default,
        deletes_unavailable_machines: cleanup
            .delete_machines_behavior
            .as_deref()
            .is_some_and(|b| b.eq_ignore_ascii_case("DeleteUnavailableMachines")),
        delete_after: cleanup.delete_machines_elapsed_time_span.as_deref().and_then(parse_timespan),
        health_check_interval: p
            .machine_health_check_policy
            .health_check_interval
            .as_deref()
            .and_then(parse_timespan),
        connectivity_behavior: p.machine_connectivity_policy.machine_connectivity_behavior,
        calamari_update_behavior: p.machine_update_policy.calamari_update_behavior,
    }
}

/// .NET TimeSpan: `hh:mm:ss`, `d.hh:mm:ss`, optional fraction (`hh:mm:ss.fff`).
pub fn parse_timespan(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let (days, rest) = match raw.split_once(':') {
        Some((head, _)) if head.contains('.') => {
            let (d, h) = head.split_once('.')?;
            (d.parse::<u64>().ok()?, format!("{h}{}", &raw[head.len()..]))
        }
        _ => (0, raw.to_string()),
    };
    let mut parts = rest.split(':');
    let hours: u64 = parts.next()?.parse().ok()?;
    let minutes: u64 = parts.next()?.parse().ok()?;
    let seconds: f64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || minutes >= 60 || !(0.0..60.0).contains(&seconds) {
        return None;
    }
    // A malformed or absurd answer is "not a timespan", never an overflow panic.
    let whole =
        days.checked_mul(86_400)?.checked_add(hours.checked_mul(3_600)?)?.checked_add(minutes * 60)?;
    Duration::from_secs(whole).checked_add(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans_parse_with_and_without_days() {
        assert_eq!(parse_timespan("00:05:00"), Some(Duration::from_secs(300)));
        assert_eq!(parse_timespan("1.02:00:00"), Some(Duration::from_secs(86_400 + 7_200)));
        assert_eq!(parse_timespan("00:00:01.5"), Some(Duration::from_millis(1_500)));
        assert_eq!(parse_timespan("soon"), None);
        assert_eq!(parse_timespan("00:61:00"), None);
    }

    #[test]
    fn huge_timespans_are_refused_or_parsed_never_overflowed() {
        // .NET's TimeSpan.MaxValue, which a server may send for "never".
        assert_eq!(parse_timespan("10675199.02:48:05.4775807").map(|d| d.as_secs()), Some(922_337_203_685));
        assert_eq!(parse_timespan("213503982334602.00:00:00"), None);
        assert_eq!(parse_timespan("0.5124095576030432:00:00"), None);
    }

    #[test]
    fn unknown_task_state_is_not_guessed() {
        let t: wire::TaskResource =
            serde_json::from_str(r#"{"Id":"ServerTasks-1","State":"Paused","Arguments":null}"#).unwrap();
        assert!(task(t).is_none());
    }

    #[test]
    fn machine_with_nulls_and_unknown_fields_converts() {
        let m: wire::MachineResource = serde_json::from_str(
            r#"{"Id":"Machines-1","Name":"WEB01","Roles":null,"EnvironmentIds":["Environments-1"],
                "IsDisabled":null,"HealthStatus":"HasWarnings","Brand":"new",
                "Endpoint":{"CommunicationStyle":"TentaclePassive","Uri":"https://web01:10933/","Thumbprint":"AB"}}"#,
        )
        .unwrap();
        let t = target(m, &mut Repeated::default());
        assert!(t.roles.is_empty() && !t.disabled);
        assert_eq!(t.health, HealthStatus::HasWarnings);
        assert_eq!(t.thumbprint.as_deref(), Some("AB"));
        assert_eq!(&*t.endpoint.communication_style, "TentaclePassive");
    }
}

#[cfg(test)]
mod repeated_tests {
    use super::*;
    use std::sync::Arc;

    fn machine(id: &str, policy: &str) -> wire::MachineResource {
        serde_json::from_str(&format!(
            r#"{{"Id":"{id}","Name":"{id}","Roles":["vmss-web","web-server"],"EnvironmentIds":["Environments-1"],
                "MachinePolicyId":"{policy}","Thumbprint":"AB12",
                "Endpoint":{{"CommunicationStyle":"TentaclePassive","Uri":"https://{id}:10933/","Thumbprint":"AB12"}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn what_targets_repeat_is_held_once_and_what_differs_apart() {
        let mut repeated = Repeated::default();
        let (a, b) = (
            target(machine("Machines-1", "MachinePolicies-1"), &mut repeated),
            target(machine("Machines-2", "MachinePolicies-2"), &mut repeated),
        );
        assert!(Arc::ptr_eq(&a.roles, &b.roles) && Arc::ptr_eq(&a.environment_ids, &b.environment_ids));
        assert!(Arc::ptr_eq(&a.endpoint.communication_style, &b.endpoint.communication_style));
        let (thumbprint, endpoint_thumbprint) =
            (a.thumbprint.as_ref().unwrap(), a.endpoint.thumbprint.as_ref().unwrap());
        assert!(Arc::ptr_eq(thumbprint, endpoint_thumbprint), "the target's and its endpoint's thumbprint");
        assert_eq!(
            (a.machine_policy_id.as_deref(), b.machine_policy_id.as_deref()),
            (Some("MachinePolicies-1"), Some("MachinePolicies-2"))
        );
        assert_eq!(*b.roles, ["vmss-web", "web-server"]);
        // Shared or not, a target reads and writes as before: strings and arrays.
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["roles"], serde_json::json!(["vmss-web", "web-server"]));
        assert_eq!(json["endpoint"]["communication_style"], "TentaclePassive");
        assert_eq!(serde_json::from_value::<Target>(json).unwrap(), a);
    }
}

#[cfg(test)]
mod tenancy_tests {
    use super::*;

    #[test]
    fn target_tags_read_from_either_field_and_tenancy_from_the_machine() {
        let newer: wire::MachineResource = serde_json::from_str(
            r#"{"Id":"Machines-1","Name":"WEB01","Roles":["vmss-web"],"TargetTags":["vmss-web","web-server"],
                "TenantedDeploymentParticipation":"TenantedOrUntenanted","TenantIds":["Tenants-1"],
                "TenantTags":["Region/EU"]}"#,
        )
        .unwrap();
        let t = target(newer, &mut Repeated::default());
        assert_eq!(*t.roles, ["vmss-web", "web-server"]);
        assert_eq!(t.tenanted, TenantedMode::TenantedOrUntenanted);
        assert!(t.connected_to("Tenants-1", &[]) && t.connected_to("Tenants-7", &["Region/EU".into()]));
        assert!(!t.connected_to("Tenants-7", &["Region/US".into()]));
        let only_tags: wire::MachineResource =
            serde_json::from_str(r#"{"Id":"Machines-2","Name":"WEB02","targetTags":["vmss-web"]}"#).unwrap();
        let t = target(only_tags, &mut Repeated::default());
        assert_eq!(*t.roles, ["vmss-web"]);
        assert_eq!(t.tenanted, TenantedMode::Untenanted, "a server without tenants");
        let odd: wire::MachineResource = serde_json::from_str(
            r#"{"Id":"Machines-3","Name":"WEB03","TenantedDeploymentParticipation":"Sometimes"}"#,
        )
        .unwrap();
        assert_eq!(
            target(odd, &mut Repeated::default()).tenanted,
            TenantedMode::Tenanted,
            "unknown: never in an untenanted deployment"
        );
    }
}
