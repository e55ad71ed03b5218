//! `/_sim/` control endpoint (loopback, no auth): JSON in and out, mirroring `RunningSim`'s methods.
//!
//! - `GET  /_sim/stats`                          request counters
//! - `POST /_sim/stats/reset`
//! - `POST /_sim/event`    an `EventAction`      `{"action":"set_capacity","set":"vmss-web","capacity":6}`
//! - `POST /_sim/fault`    a `FaultSpec`         `{"target":"arm","kind":"429","retry_after_secs":2,"count":1}`
//! - `POST /_sim/advance`  `{"secs":90}`         manual clock only
//! - `POST /_sim/page_size` `{"arm":2,"octopus":3}`
//! - `GET  /_sim/state`                          a summary of the world (AWS groups with their
//!   instances' lifecycle states and waiting lifecycle actions under `aws_groups`)
//! - `GET  /_sim/clock`                          `{"now":"<RFC 3339>","speed":10.0}` (`speed` null:
//!   manual clock), for a client that takes its time from the simulator

use super::http::{Reply, Request};
use super::scenario::EventAction;
use super::{lock, FaultSpec, Shared};
use axum::http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(
        "the simulator runs on a real-time clock; start it with SimOptions::manual_clock() to advance it"
    )]
    NotManualClock,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    World(#[from] super::world::WorldError),
}

pub(super) fn apply(shared: &Shared, action: EventAction) -> Result<(), ControlError> {
    if let EventAction::Fault(spec) = action {
        return lock(&shared.faults).push(spec).map_err(|err| ControlError::Invalid(err.to_string()));
    }
    shared.world().apply_action(&action)?;
    Ok(())
}

fn bad_request(message: &str) -> Reply {
    Reply::json(StatusCode::BAD_REQUEST, json!({"error": message}))
}

fn result(outcome: Result<(), ControlError>) -> Reply {
    match outcome {
        Ok(()) => Reply::ok(json!({"ok": true})),
        Err(err @ ControlError::World(_)) => {
            Reply::json(StatusCode::NOT_FOUND, json!({"error": err.to_string()}))
        }
        Err(err) => bad_request(&err.to_string()),
    }
}

pub(super) fn handle(shared: &Shared, request: &Request, segments: &[&str]) -> Reply {
    match (&request.method, segments) {
        (&Method::GET, ["stats"]) => Reply::ok(json!(shared.stats())),
        (&Method::POST, ["stats", "reset"]) => {
            *lock(&shared.stats) = Default::default();
            Reply::ok(json!({"ok": true}))
        }
        (&Method::POST, ["event"]) => match request.json_body::<EventAction>() {
            Ok(action) => result(apply(shared, action)),
            Err(message) => bad_request(&message),
        },
        (&Method::POST, ["fault"]) => match request.json_body::<FaultSpec>() {
            Ok(spec) => result(apply(shared, EventAction::Fault(spec))),
            Err(message) => bad_request(&message),
        },
        (&Method::POST, ["advance"]) => {
            #[derive(Deserialize)]
            struct Advance {
                secs: f64,
            }
            match request.json_body::<Advance>() {
                Ok(body) if body.secs.is_finite() && body.secs >= 0.0 => {
                    result(shared.advance(Duration::from_secs_f64(body.secs)))
                }
                Ok(_) => bad_request("secs must be a non-negative number"),
                Err(message) => bad_request(&message),
            }
        }
        (&Method::POST, ["page_size"]) => {
            #[derive(Deserialize)]
            struct PageSize {
                arm: Option<usize>,
                octopus: Option<usize>,
            }
            match request.json_body::<PageSize>() {
                Ok(body) => {
                    if let Some(size) = body.arm {
                        shared.arm_page_size.store(size.max(1), Ordering::Relaxed);
                    }
                    if let Some(size) = body.octopus {
                        shared.octopus_page_size.store(size.max(1), Ordering::Relaxed);
                    }
                    Reply::ok(json!({"ok": true}))
                }
                Err(message) => bad_request(&message),
            }
        }
        (&Method::GET, ["clock"]) => {
            // The clock's own time: the world moves in whole steps behind it.
            let now = shared.time_at(shared.now_secs());
            let speed = match &shared.clock {
                super::Clock::Real { speed, .. } => Some(*speed),
                super::Clock::Manual { .. } => None,
            };
            match now.format(&time::format_description::well_known::Rfc3339) {
                Ok(now) => Reply::ok(json!({"now": now, "speed": speed})),
                Err(err) => Reply::json(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": err.to_string()})),
            }
        }
        (&Method::GET, ["state"]) => {
            let world = shared.world();
            let sets: Vec<_> = world
                .scale_sets
                .iter()
                .map(|set| {
                    json!({
                        "name": set.name, "capacity": set.capacity, "etag": set.etag,
                        "orchestration_mode": if set.is_flexible() { "Flexible" } else { "Uniform" },
                        "vms": set.vms.iter().map(|vm| json!({"instance_id": vm.instance_id, "name": set.vm_name(vm), "state": format!("{:?}", vm.state)})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let region = world.aws.region.clone();
            let groups: Vec<_> = world
                .aws
                .groups
                .iter()
                .map(|group| {
                    json!({
                        "name": group.name, "desired": group.desired, "min_size": group.min_size, "max_size": group.max_size,
                        "instances": group.instances.iter().map(|i| json!({
                            "instance_id": i.instance_id, "lifecycle_state": i.lifecycle.as_str(), "protected": i.protected,
                            "zone": i.zone, "private_dns_name": i.private_dns_name(&region), "name_tag": i.name_tag,
                            "template_version": i.template_version,
                            "actions": i.actions.iter().filter(|a| a.result.is_none()).map(|a| json!({"hook": a.hook, "token": a.token})).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            Reply::ok(json!({
                "now_secs": world.now,
                "scale_sets": sets,
                "aws_groups": groups,
                "machines": world.machines.iter().map(|m| json!({"id": m.id, "name": m.name, "health": format!("{:?}", m.health)})).collect::<Vec<_>>(),
                "pending_faults": lock(&shared.faults).pending(),
            }))
        }
        _ => Reply::json(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no control endpoint {} /_sim/{}", request.method, segments.join("/"))}),
        ),
    }
}
