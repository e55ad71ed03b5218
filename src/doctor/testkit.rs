//! Builders for the doctor's unit tests.

use crate::config::MatchBy;
use crate::model::{
    Endpoint, HealthStatus, Instance, Node, OrchestrationMode, PowerState, ProvisioningState, ScaleSetKey,
    ScaleSetState, Target,
};
use crate::snapshot::{ScaleSetListing, ScaleSetObservation};
use time::macros::datetime;
use time::OffsetDateTime;

pub const NOW: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

pub fn target(name: &str) -> Target {
    Target {
        id: format!("Machines-{name}"),
        name: name.into(),
        roles: vec!["vmss-web".into(), "web-server".into()].into(),
        environment_ids: vec!["Environments-1".into()].into(),
        health: HealthStatus::Healthy,
        disabled: false,
        machine_policy_id: Some("MachinePolicies-2".into()),
        thumbprint: Some(format!("THUMB-{name}").into()),
        endpoint: Endpoint { communication_style: "TentaclePassive".into(), uri: None, thumbprint: None },
        has_latest_calamari: Some(true),
        tenanted: crate::model::TenantedMode::Untenanted,
        tenant_ids: vec![],
        tenant_tags: vec![],
    }
}

pub fn polling(name: &str) -> Target {
    let mut target = target(name);
    target.endpoint.communication_style = "TentacleActive".into();
    target
}

pub fn node(name: &str) -> Node {
    Node {
        id: format!("OctopusServerNodes-{name}"),
        name: name.into(),
        last_seen: Some(NOW - time::Duration::seconds(20)),
        is_offline: false,
        drain: false,
        max_concurrent_tasks: 5,
        running_tasks: 0,
        version: Some("2024.3.12741".into()),
    }
}

pub fn key() -> ScaleSetKey {
    ScaleSetKey {
        provider: "azure".into(),
        subscription_id: "sub".into(),
        resource_group: "rg-web".into(),
        name: "vmss-web".into(),
    }
}

pub fn instance(id: u32, computer_name: &str) -> Instance {
    Instance {
        scale_set: key().into(),
        instance_id: id.to_string(),
        vm_id: Some(format!("vm-{id}")),
        name: format!("vmss-web_{id}"),
        computer_name: Some(computer_name.into()),
        guest_computer_name: None,
        provisioning_state: ProvisioningState::Succeeded,
        power_state: PowerState::Running,
        latest_model_applied: Some(true),
        protected_from_scale_in: Some(false),
        placement: Default::default(),
        aws: None,
    }
}

pub fn state(capacity: u32) -> ScaleSetState {
    ScaleSetState {
        key: key(),
        location: Some("westeurope".into()),
        capacity,
        provisioning_state: ProvisioningState::Succeeded,
        overprovision: false,
        orchestration_mode: OrchestrationMode::Uniform,
        scale_in_rules: vec!["Default".into()],
        etag: Some("\"1\"".into()),
        last_changed: None,
        layout: Default::default(),
        aws: None,
    }
}

pub fn listing(state: ScaleSetState, instances: Vec<Instance>) -> ScaleSetObservation {
    ScaleSetObservation {
        key: state.key.clone(),
        match_by: MatchBy::ComputerName,
        listing: Ok(ScaleSetListing { state, instances, reread: None, foreign: vec![] }),
        others: crate::snapshot::OthersObservation::nobody(),
    }
}
