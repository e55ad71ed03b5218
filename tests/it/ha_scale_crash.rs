//! `scaleguard node scale-in` killed with SIGKILL at seeded moments on `ha-scale`, then run again
//! until it ends: the journal always reads, and the end state is the uninterrupted run's (exactly
//! the two victims' VMs and node records gone) with no step repeated: drain enabled once per
//! node, the VMs deleted by one request that landed, each node record deleted once, no task
//! cancelled. One round is killed after the VM delete landed and before its answer came back.

use crate::support::bench::{set_toml, Bench};
use rand::{RngExt, SeedableRng};
use scaleguard::drain::DrainEffect;
use scaleguard::journal::{self, JournalAction, Outcome, RecordKind};
use scaleguard::sim::{EventAction, FaultSpec, RequestHook, SimOptions};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const SEED: u64 = 0x0004_5ca1;
pub const DELETE: &str = "/subscriptions/7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b/resourceGroups/rg-octo/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-octo/delete";
pub const ARGS: [&str; 9] =
    ["node", "scale-in", "vmss-octo", "--count", "2", "--yes", "--reason", "nightly", "--format=json"];

pub fn spawn(bench: &Bench) -> Child {
    bench.command(&ARGS).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn scaleguard")
}

fn ended(child: &mut Child) -> bool {
    child.try_wait().unwrap().is_some()
}

/// SIGKILL after `after` unless it ended first; true if killed.
pub async fn kill_after(child: &mut Child, after: Duration) -> bool {
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if ended(child) {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let killed = !ended(child);
    child.kill().ok();
    child.wait().unwrap();
    killed
}

pub fn journaled(bench: &Bench, pick: impl Fn(&JournalAction) -> bool) -> usize {
    bench.journal().0.iter().filter(|r| r.kind == RecordKind::Intent && pick(&r.action)).count()
}

pub fn scale_in_open(bench: &Bench) -> bool {
    let (records, _) = bench.journal();
    journal::pending_intents(&records).iter().any(|r| matches!(r.action, JournalAction::ScaleInJob { .. }))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scale_in_killed_at_seeded_moments_resumes_and_repeats_no_step() {
    // At 20× the 90 s task takes 4.5 s: the job waits for it across several kills.
    let bench =
        Bench::start(SimOptions::new("ha-scale").speed(20.0), |toml| set_toml(&toml, "refresh_secs", "1"))
            .await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED);
    let (mut kills, mut after_delete) = (0, 0);
    let started = Instant::now();
    let mut round = 0;
    while scale_in_open(&bench) || round == 0 {
        assert!(started.elapsed() < Duration::from_secs(90), "the scale-in never ended");
        let deleting = journaled(&bench, |a| matches!(a, JournalAction::DeleteInstances { .. })) == 0
            && journaled(&bench, |a| {
                matches!(a, JournalAction::Drain { effect: DrainEffect::EnableDrain, .. })
            }) == 2;
        let mut child = if deleting && after_delete == 0 {
            // Let the delete land and hold its answer: the kill comes between the two.
            bench.sim.before_next_request(RequestHook {
                method: Some("POST".into()),
                path_prefix: DELETE.into(),
                action: EventAction::Fault(FaultSpec {
                    target: DELETE.into(),
                    kind: "slow_reply".into(),
                    count: 1,
                    retry_after_secs: None,
                    delay_ms: Some(3000),
                }),
            });
            let child = spawn(&bench);
            let give_up = Instant::now() + Duration::from_secs(20);
            while bench.sim.stats().get("arm.delete_instances") == 0 && Instant::now() < give_up {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            after_delete += 1;
            child
        } else {
            spawn(&bench)
        };
        let at = if after_delete == 1 && deleting {
            Duration::from_millis(200)
        } else if round < 8 {
            Duration::from_millis(rng.random_range(50..1500))
        } else {
            Duration::from_secs(60) // let it finish
        };
        if kill_after(&mut child, at).await {
            kills += 1;
        } else {
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!stderr.contains("panicked"), "round {round}: {stderr}");
        }
        let (_, warnings) = bench.journal();
        assert!(
            warnings.len() <= 1 && warnings.iter().all(|w| w.message.contains("incomplete last line")),
            "round {round}: {warnings:?}"
        );
        round += 1;
    }
    assert!(kills >= 3, "the seed must kill some runs mid-flight ({kills})");
    assert_eq!(after_delete, 1, "one run was killed between the VM delete landing and its answer");

    let (remaining_vms, mut nodes) = bench.sim.with_world(|w| {
        let set = &w.scale_sets[w.set_index("vmss-octo").unwrap()];
        (
            set.vms.iter().map(|vm| vm.instance_id).collect::<Vec<_>>(),
            w.nodes.iter().map(|n| n.name.clone()).collect::<Vec<_>>(),
        )
    });
    nodes.sort();
    assert_eq!(remaining_vms, vec![0, 1], "exactly the victims' VMs are gone");
    assert_eq!(nodes, vec!["OCTO000000", "OCTO000001"], "exactly the victims' node records are gone");
    let stats = bench.sim.stats();
    assert_eq!(stats.get("arm.patch_scale_set"), 0, "never a capacity decrement");
    assert_eq!(stats.get("octopus.tasks.cancel"), 0, "no task cancelled on a node still online");
    assert_eq!(stats.get("octopus.octopusservernodes.delete"), 2, "each node record deleted once");
    let deletes_landed = bench.sim.with_world(|w| {
        w.activity
            .iter()
            .filter(|e| {
                e.operation_name.ends_with("virtualMachineScaleSets/delete/action") && e.status == "Started"
            })
            .count()
    });
    assert_eq!(deletes_landed, 1, "the VMs were deleted by one request that landed");

    let (records, warnings) = bench.journal();
    assert!(warnings.len() <= 1, "{warnings:?}");
    let done = |pick: &dyn Fn(&JournalAction) -> bool| {
        let intents: Vec<_> =
            records.iter().filter(|r| r.kind == RecordKind::Intent && pick(&r.action)).collect();
        let finished: Vec<_> = intents
            .iter()
            .filter(|i| {
                records.iter().any(|r| r.intent_id == i.intent_id && r.outcome == Some(Outcome::Done))
            })
            .collect();
        (intents.len(), finished.len())
    };
    let (enables, enabled) =
        done(&|a| matches!(a, JournalAction::Drain { effect: DrainEffect::EnableDrain, .. }));
    assert_eq!((enables, enabled), (2, 2), "drain enabled once per victim across every restart");
    let (vm_deletes, _) = done(&|a| matches!(a, JournalAction::DeleteInstances { .. }));
    assert_eq!(vm_deletes, 1, "the interrupted VM delete was settled from the listing, not sent again");
    let open: Vec<String> = journal::pending_intents(&records).iter().map(|r| r.action.summary()).collect();
    assert!(open.is_empty(), "every step ends with a result, the interrupted ones settled: {open:?}");
    let (jobs, finished_jobs) = done(&|a| matches!(a, JournalAction::ScaleInJob { .. }));
    assert_eq!((jobs, finished_jobs), (1, 1), "one job, resumed until done");
    eprintln!("crash(scale-in): {kills} kill(s) in {round} round(s); the journal:");
    for record in records.iter().filter(|r| r.kind == RecordKind::Result) {
        eprintln!(
            "  {} -> {:?} {}",
            record.action.summary(),
            record.outcome,
            record.note.as_deref().unwrap_or("")
        );
    }
}
