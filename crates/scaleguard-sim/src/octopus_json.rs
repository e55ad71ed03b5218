//! Octopus documents as the real server spells them (PascalCase; names from swagger_subset.json).

use super::http::format_time;
use super::octopus::{status_of, time_or_null};
use super::world::{
    Deployment, Environment, Health, Machine, MachinePolicy, Node, Project, Release, Task, TaskState, World,
};
use super::Shared;
use serde_json::{json, Value};

pub fn health_str(health: Health) -> &'static str {
    match health {
        Health::Healthy => "Healthy",
        Health::Unavailable => "Unavailable",
    }
}

pub fn space(world: &World) -> Value {
    let id = &world.octopus.space_id;
    json!({
        "Id": id, "Name": world.octopus.space_name, "Slug": world.octopus.space_name.to_ascii_lowercase(),
        "IsDefault": true, "TaskQueueStopped": false, "SpaceManagersTeams": [], "SpaceManagersTeamMembers": [],
        "Links": {"Self": format!("/api/spaces/{id}")},
    })
}

pub fn environment(world: &World, env: &Environment) -> Value {
    let space = &world.octopus.space_id;
    json!({
        "Id": env.id, "Name": env.name, "Description": "", "SortOrder": 0, "UseGuidedFailure": env.use_guided_failure,
        "AllowDynamicInfrastructure": true, "SpaceId": space,
        "Links": {"Self": format!("/api/{space}/environments/{}", env.id), "Machines": format!("/api/{space}/environments/{}/machines{{?skip,take}}", env.id)},
    })
}

pub fn project(world: &World, project: &Project) -> Value {
    let space = &world.octopus.space_id;
    let mut document = json!({
        "Id": project.id, "Name": project.name, "Slug": project.name.to_ascii_lowercase().replace(' ', "-"),
        "SpaceId": space, "IsDisabled": false, "LifecycleId": "Lifecycles-1", "ProjectGroupId": "ProjectGroups-1",
        "DefaultGuidedFailureMode": if project.guided_failure == "On" { "On" } else { project.guided_failure.as_str() },
        "ProjectConnectivityPolicy": {
            "AllowDeploymentsToNoTargets": project.allow_no_targets,
            "SkipMachineBehavior": if project.skip_unavailable { "SkipUnavailableMachines" } else { "None" },
            "ExcludeUnhealthyTargets": project.exclude_unhealthy,
            "TargetRoles": project.roles,
        },
        "Links": {
            "Self": format!("/api/{space}/projects/{}", project.id),
            "Releases": format!("/api/{space}/projects/{}/releases{{/version}}{{?skip,take,searchByVersion}}", project.id),
        },
    });
    super::tenants::project_fields(world, project, &mut document);
    document
}

pub fn release(shared: &Shared, world: &World, release: &Release) -> Value {
    let space = &world.octopus.space_id;
    json!({
        "Id": release.id, "Version": release.version, "ProjectId": release.project_id, "ChannelId": "Channels-1",
        "Assembled": format_time(shared.time_at(release.assembled)), "ReleaseNotes": "", "IgnoreChannelRules": false,
        "SelectedPackages": [], "BuildInformation": [], "SpaceId": space,
        "ProjectDeploymentProcessSnapshotId": format!("deploymentprocess-{}-s-1", release.project_id),
        "ProjectVariableSetSnapshotId": format!("variableset-{}-s-1", release.project_id),
        "LibraryVariableSetSnapshotIds": [], "VersionControlReference": null,
        "Links": {"Self": format!("/api/{space}/releases/{}", release.id), "Deployments": format!("/api/{space}/releases/{}/deployments{{?skip,take}}", release.id)},
    })
}

pub fn machine_policy(world: &World, policy: &MachinePolicy) -> Value {
    let space = &world.octopus.space_id;
    let (behavior, span) = match &policy.delete_unavailable_after {
        Some(span) => ("DeleteUnavailableMachines", span.as_str()),
        None => ("DoNotDelete", "00:00:00"),
    };
    json!({
        "Id": policy.id, "Name": policy.name, "Description": "", "IsDefault": policy.is_default, "SpaceId": space,
        "MachineHealthCheckPolicy": {"HealthCheckInterval": policy.health_check_interval, "HealthCheckType": "RunScript"},
        "MachineConnectivityPolicy": {"MachineConnectivityBehavior": policy.connectivity_behavior},
        "MachineCleanupPolicy": {"DeleteMachinesBehavior": behavior, "DeleteMachinesElapsedTimeSpan": span},
        "MachineUpdatePolicy": {"CalamariUpdateBehavior": policy.calamari_update_behavior, "TentacleUpdateBehavior": "NeverUpdate"},
        "ConnectionRetrySleepInterval": "00:00:01", "ConnectionRetryCountLimit": 5,
        "ConnectionRetryTimeLimit": "00:05:00", "ConnectionConnectTimeout": "00:01:00",
        "PollingRequestQueueTimeout": "00:02:00", "PollingRequestMaximumMessageProcessingTimeout": "00:10:00",
        "Links": {"Self": format!("/api/{space}/machinepolicies/{}", policy.id)},
    })
}

pub fn machine(world: &World, machine: &Machine) -> Value {
    let space = &world.octopus.space_id;
    let polling = machine.communication_style == "TentacleActive";
    let uri = if polling {
        format!("poll://{}/", machine.thumbprint.to_ascii_lowercase())
    } else {
        format!("https://{}:10933/", machine.name.to_ascii_lowercase())
    };
    let summary = match machine.health {
        Health::Healthy => {
            "Octopus was able to successfully establish a connection with this machine on 2026-01-05"
        }
        Health::Unavailable => "The machine was unavailable during the last health check.",
    };
    let mut document = json!({
        "Id": machine.id, "Name": machine.name, "Roles": machine.roles, "EnvironmentIds": machine.environment_ids,
        "TenantIds": machine.tenancy.tenant_ids, "TenantTags": machine.tenancy.tenant_tags,
        "TenantedDeploymentParticipation": machine.tenancy.participation,
        "IsDisabled": machine.is_disabled, "MachinePolicyId": machine.machine_policy_id,
        "Status": status_of(machine.health), "HealthStatus": health_str(machine.health),
        "HasLatestCalamari": true, "StatusSummary": summary, "IsInProcess": false,
        "Thumbprint": machine.thumbprint, "Uri": uri, "OperatingSystem": "Unknown",
        "ShellName": "Unknown", "ShellVersion": "Unknown", "SpaceId": space,
        "Endpoint": {
            "CommunicationStyle": machine.communication_style, "Uri": uri, "Thumbprint": machine.thumbprint,
            "TentacleVersionDetails": {"Version": "8.1.2", "UpgradeSuggested": false, "UpgradeRequired": false},
            "Id": null, "LastModifiedOn": null, "LastModifiedBy": null, "Links": {},
        },
        "Links": {"Self": format!("/api/{space}/machines/{}", machine.id)},
    });
    // Newer servers call roles "target tags" and send them in a field of that name too.
    if world.octopus.target_tags_field {
        document["TargetTags"] = json!(machine.roles);
    }
    document
}

pub fn node(shared: &Shared, world: &World, node: &Node) -> Value {
    json!({
        "Id": node.id, "Name": node.name, "MaxConcurrentTasks": node.max_concurrent_tasks,
        "IsInMaintenanceMode": node.is_in_maintenance_mode,
        "LastSeen": format_time(shared.time_at(node.last_seen)), "Version": node.version,
        "IsOffline": world.node_is_offline(node.last_seen),
        "Links": {"Self": format!("/api/octopusservernodes/{}", node.id), "Details": format!("/api/octopusservernodes/{}/details", node.id)},
    })
}

pub fn node_summary(shared: &Shared, world: &World, node: &Node) -> Value {
    json!({
        "Id": node.id, "Name": node.name, "LastSeen": format_time(shared.time_at(node.last_seen)),
        "IsOffline": world.node_is_offline(node.last_seen), "IsInMaintenanceMode": node.is_in_maintenance_mode,
        "MaxConcurrentTasks": node.max_concurrent_tasks, "RunningTaskCount": world.running_task_count(&node.id),
        "Version": node.version,
    })
}

pub fn task(shared: &Shared, world: &World, task: &Task) -> Value {
    let space = &world.octopus.space_id;
    let end = task.completed_time.unwrap_or(world.now);
    let duration = task.start_time.map_or(0.0, |start| end - start);
    let mut arguments = json!({});
    if let Some(id) = &task.deployment_id {
        arguments["DeploymentId"] = json!(id);
    }
    json!({
        "Id": task.id, "SpaceId": space, "Name": task.name, "Description": task.description,
        "Arguments": arguments, "State": task.state.as_str(),
        "Completed": if task.state.is_completed() { "just now" } else { "" },
        "QueueTime": format_time(shared.time_at(task.queue_time)), "QueueTimeExpiry": null,
        "StartTime": time_or_null(shared, task.start_time),
        "LastUpdatedTime": format_time(shared.time_at(task.completed_time.or(task.start_time).unwrap_or(task.queue_time))),
        "CompletedTime": time_or_null(shared, task.completed_time),
        "ServerNode": task.node_id, "Duration": format!("{} seconds", duration.round()),
        "ErrorMessage": if task.state == TaskState::Failed { "The task failed" } else { "" },
        "HasBeenPickedUpByProcessor": task.start_time.is_some(), "IsCompleted": task.state.is_completed(),
        "FinishedSuccessfully": task.state == TaskState::Success, "HasPendingInterruptions": false,
        "CanRerun": false, "HasWarningsOrErrors": false, "ProjectId": task.project_id,
        "Links": {
            "Self": format!("/api/tasks/{}", task.id), "Web": format!("/app#/{space}/tasks/{}", task.id),
            "Details": format!("/api/tasks/{}/details{{?verbose,tail}}", task.id),
            "Cancel": format!("/api/{space}/tasks/{}/cancel", task.id),
        },
    })
}

pub fn deployment(shared: &Shared, world: &World, deployment: &Deployment) -> Value {
    let space = &world.octopus.space_id;
    let release = world.releases.iter().find(|r| r.id == deployment.release_id);
    let name = format!(
        "Deploy to {}",
        world.environments.iter().find(|e| e.id == deployment.environment_id).map_or("", |e| e.name.as_str())
    );
    json!({
        "Id": deployment.id, "Name": name, "ReleaseId": deployment.release_id, "ProjectId": deployment.project_id,
        "EnvironmentId": deployment.environment_id, "TaskId": deployment.task_id, "ChannelId": "Channels-1",
        "SpecificMachineIds": deployment.specific_machine_ids, "ExcludedMachineIds": deployment.excluded_machine_ids,
        "DeployedToMachineIds": deployment.deployed_to_machine_ids, "SkipActions": [], "TenantId": deployment.tenant_id,
        "Comments": deployment.comments, "UseGuidedFailure": deployment.use_guided_failure,
        "ForcePackageDownload": false, "ForcePackageRedeployment": false, "FormValues": {},
        "QueueTime": null, "QueueTimeExpiry": null, "FailureEncountered": false,
        "Created": format_time(shared.time_at(deployment.created)), "DeployedBy": "scaleguard",
        "DeployedById": "Users-1", "DeploymentProcessId": format!("deploymentprocess-{}-s-1", deployment.project_id),
        "ManifestVariableSetId": format!("variableset-{}", deployment.id), "Changes": [], "ChangesMarkdown": "",
        "TentacleRetentionPeriod": null, "SpaceId": space,
        "Links": {
            "Self": format!("/api/{space}/deployments/{}", deployment.id),
            "Release": format!("/api/{space}/releases/{}", deployment.release_id),
            "Task": format!("/api/tasks/{}", deployment.task_id),
        },
        "ReleaseVersion": release.map(|r| r.version.clone()),
    })
}
