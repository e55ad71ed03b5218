use super::*;
use crate::ha::tests_props::{config, instance, key, run, World, NOW};
use crate::ha::{choose, pair};
use crate::model::ProvisioningState;

fn start(world: &World, count: u32) -> ScaleInJob {
    let pairing = pair(&world.nodes, &world.vms);
    let state = crate::ha::tests_props::state(world.vms.len() as u32);
    let choice = choose(count, &world.nodes, &pairing, &state, &world.vms, world.now, &config());
    assert!(choice.is_allowed(), "{choice:?}");
    ScaleInJob::start(key(), choice.victims, &world.nodes, world.now, &config()).unwrap()
}

fn victim_names(job: &ScaleInJob) -> Vec<&str> {
    job.victims.iter().map(|v| v.victim.node_name.as_str()).collect()
}

#[test]
fn a_busy_victim_is_waited_for_and_its_vm_goes_only_once_every_victim_is_drained() {
    // octo0 and octo1 busy for long; octo2 busy 5 minutes; octo3 idle.
    let mut world = World::new(&[vec![3600], vec![3600], vec![300], vec![]]);
    let job = start(&world, 2);
    assert_eq!(victim_names(&job), vec!["octo3", "octo2"], "the idle one, then by policy");
    let first = step(&job, &world.observe(), world.now, &config());
    let enables: Vec<&ScaleInEffect> = first.effects.iter().collect();
    assert_eq!(enables.len(), 2, "drain on for both: {:?}", first.effects);
    assert!(first.next.victims.iter().all(|v| v.enabled_drain));
    let job = run(&mut world, job, 60, 100, None);
    assert_eq!(job.phase, ScaleInPhase::Done);
    assert!(world.cancelled_online.is_empty(), "octo2's task finished by itself");
    assert_eq!(world.deleted_vms, vec!["3".to_string(), "2".to_string()]);
    // The VMs went after octo2's five minutes, not before.
    let vm_delete = world.effects.iter().position(|e| matches!(e, ScaleInEffect::DeleteVms { .. })).unwrap();
    assert!(world.effects[..vm_delete]
        .iter()
        .all(|e| !matches!(e, ScaleInEffect::Drain { effect: DrainEffect::DeleteNode, .. })));
    let mut nodes = world.deleted_nodes.clone();
    nodes.sort();
    assert_eq!(nodes, vec!["N2".to_string(), "N3".to_string()]);
    assert_eq!(world.nodes.len(), 2, "octo0 and octo1 stay");
}

#[test]
fn only_the_victim_the_operator_chose_gets_its_tasks_cancelled() {
    let mut world = World::new(&[vec![99_999], vec![99_999], vec![99_999]]);
    let mut job = start(&world, 2);
    let mut config = config();
    config.drain_deadline_secs = 60;
    for victim in &mut job.victims {
        victim.drain.wait_secs = 60;
    }
    // Drain on, then past the deadline: each victim asks.
    for _ in 0..4 {
        let t = step(&job, &world.observe(), world.now, &config);
        let now = world.now;
        for e in &t.effects {
            world.apply(e, |n| crate::drain::is_online(n, now, &config));
        }
        job = t.next;
        world.advance(40);
    }
    assert_eq!(job.questions().len(), 2, "{job:?}");
    let chosen = job.victims[0].victim.node_id.clone();
    let t = answer(&job, &chosen, DrainChoice::CancelTasksNow, world.now).unwrap();
    job = t.next;
    let t = step(&job, &world.observe(), world.now, &config);
    let cancelled: Vec<&ScaleInEffect> = t
        .effects
        .iter()
        .filter(|e| matches!(e, ScaleInEffect::Drain { effect: DrainEffect::CancelTask(_), .. }))
        .collect();
    assert!(!cancelled.is_empty());
    assert!(
        cancelled.iter().all(|e| matches!(e, ScaleInEffect::Drain { node_id, .. } if *node_id == chosen)),
        "only the chosen node's tasks: {cancelled:?}"
    );
    assert_eq!(t.next.phase, ScaleInPhase::Draining, "the other victim still waits for its answer");
}

#[test]
fn an_abort_turns_drain_off_only_where_this_job_turned_it_on_and_never_once_vms_go() {
    let mut world = World::new(&[vec![], vec![99_999], vec![99_999]]);
    world.nodes[2].drain = true; // drained by someone before the job
    let job = start(&world, 2);
    let t = step(&job, &world.observe(), world.now, &config());
    let job = t.next;
    let on = job.victims.iter().filter(|v| v.enabled_drain).count();
    let t = answer(&job, &job.victims[0].victim.node_id, DrainChoice::AbortTurnDrainOff, world.now).unwrap();
    assert_eq!(t.next.phase, ScaleInPhase::Aborted { drain_left_on: false });
    assert_eq!(t.effects.len(), on, "{:?}", t.effects);
    let mut removing = job.clone();
    removing.phase = ScaleInPhase::RemovingVms { sent_at: Some(NOW) };
    let err =
        answer(&removing, &job.victims[0].victim.node_id, DrainChoice::AbortLeaveDrainOn, NOW).unwrap_err();
    assert!(err.to_string().contains("the VMs are being removed"), "{err}");
}

#[test]
fn a_vm_id_reused_by_another_vm_is_never_deleted_and_a_partial_listing_proves_nothing() {
    let world = World::new(&[vec![], vec![], vec![]]);
    let mut job = start(&world, 1);
    job.phase = ScaleInPhase::RemovingVms { sent_at: None };
    let victim_vm = job.victims[0].victim.instance_id.clone();
    let mut observation = world.observe();
    // The id now names a new VM.
    let mut reused = instance(&victim_vm, Some("octo-new"));
    reused.vm_id = Some("another".into());
    let mut vms: Vec<Instance> = world.vms.iter().filter(|vm| vm.instance_id != victim_vm).cloned().collect();
    vms.push(reused);
    observation.vms = Some((vms.clone(), true));
    let t = step(&job, &observation, NOW, &config());
    assert!(t.effects.is_empty(), "{:?}", t.effects);
    assert_eq!(t.next.phase, ScaleInPhase::DeletingNodes);
    // Not listed, but the listing is not proven complete: wait, delete nothing, move on nothing.
    let others: Vec<Instance> = vms.into_iter().filter(|vm| vm.instance_id != victim_vm).collect();
    observation.vms = Some((others, false));
    let t = step(&job, &observation, NOW, &config());
    assert!(t.effects.is_empty());
    assert_eq!(t.next.phase, ScaleInPhase::RemovingVms { sent_at: None });
    // A VM already being deleted is waited for, not sent again.
    let mut deleting = world.vms.clone();
    for vm in &mut deleting {
        vm.provisioning_state = ProvisioningState::Deleting;
    }
    observation.vms = Some((deleting, true));
    let t = step(&job, &observation, NOW, &config());
    assert!(t.effects.is_empty());
}

#[test]
fn a_delete_the_listing_does_not_show_is_sent_again_only_after_a_while() {
    let world = World::new(&[vec![], vec![], vec![]]);
    let mut job = start(&world, 1);
    job.phase = ScaleInPhase::RemovingVms { sent_at: Some(NOW) };
    let t = step(&job, &world.observe(), NOW + Duration::seconds(30), &config());
    assert!(t.effects.is_empty(), "too soon: {:?}", t.effects);
    let t = step(&job, &world.observe(), NOW + Duration::seconds(RESEND_AFTER_SECS), &config());
    assert_eq!(t.effects.len(), 1);
    assert!(t.reasons[0].contains("deleting again"), "{:?}", t.reasons);
}

#[test]
fn a_vm_listed_without_its_vm_id_is_never_deleted_on_its_computer_name_alone() {
    // Azure may reuse a Uniform instance id, and the new VM gets the old computer name: only the
    // vmId tells them apart. A listing that shows the victim's id without a vmId proves nothing.
    let world = World::new(&[vec![], vec![], vec![]]);
    let mut job = start(&world, 1);
    job.phase = ScaleInPhase::RemovingVms { sent_at: None };
    assert!(job.victims[0].victim.vm_id.is_some(), "the victim was chosen with its vmId");
    let victim_vm = job.victims[0].victim.instance_id.clone();
    let mut observation = world.observe();
    let mut vms = world.vms.clone();
    for vm in vms.iter_mut().filter(|vm| vm.instance_id == victim_vm) {
        vm.vm_id = None;
    }
    observation.vms = Some((vms, true));
    let t = step(&job, &observation, NOW, &config());
    assert!(t.effects.is_empty(), "a VM whose identity is unproven was sent for deletion: {:?}", t.effects);
    assert_eq!(t.next.phase, ScaleInPhase::RemovingVms { sent_at: None }, "nor taken for gone");
    assert!(t.reasons.join(" ").contains("vmId"), "the operator is told why: {:?}", t.reasons);
}
