//! `node scale-in` killed at the moments the seeded crash test leaves to chance: while a drain
//! enable landed and its answer is held, and between the two node record deletes (the first one
//! landed, its answer held). Rerun to the end: no step is sent twice, none is lost, and every
//! interrupted step is closed in the journal by the job that resumed it.

use crate::ha_scale_crash::{journaled, kill_after, scale_in_open, spawn};
use crate::support::bench::{set_toml, Bench};
use scaleguard::drain::DrainEffect;
use scaleguard::journal::{self, JournalAction};
use scaleguard::sim::{EventAction, FaultSpec, RequestHook, SimOptions};
use std::time::{Duration, Instant};

const NODES: &str = "/api/octopusservernodes/";

/// Run until `stat` counts one more request than now, with that request's answer held 3 s, then
/// SIGKILL: the request landed, its answer never came back.
async fn kill_after_landing(bench: &Bench, method: &str, stat: &str) {
    bench.sim.before_next_request(RequestHook {
        method: Some(method.into()),
        path_prefix: NODES.into(),
        action: EventAction::Fault(FaultSpec {
            target: NODES.into(),
            kind: "slow_reply".into(),
            count: 1,
            retry_after_secs: None,
            delay_ms: Some(3000),
        }),
    });
    let before = bench.sim.stats().get(stat);
    let mut child = spawn(bench);
    let give_up = Instant::now() + Duration::from_secs(30);
    while bench.sim.stats().get(stat) == before {
        assert!(Instant::now() < give_up, "no {method} {NODES} came");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(kill_after(&mut child, Duration::from_millis(200)).await, "killed while {method} was held");
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_during_a_drain_enable_and_between_node_deletes_a_rerun_repeats_and_loses_nothing() {
    let bench =
        Bench::start(SimOptions::new("ha-scale").speed(20.0), |toml| set_toml(&toml, "refresh_secs", "1"))
            .await;
    kill_after_landing(&bench, "PUT", "octopus.octopusservernodes.put").await;
    kill_after_landing(&bench, "DELETE", "octopus.octopusservernodes.delete").await;
    let started = Instant::now();
    while scale_in_open(&bench) {
        assert!(started.elapsed() < Duration::from_secs(60), "the scale-in never ended");
        let mut child = spawn(&bench);
        assert!(!kill_after(&mut child, Duration::from_secs(60)).await, "the last run ends by itself");
    }
    let stats = bench.sim.stats();
    assert_eq!(stats.get("octopus.octopusservernodes.put"), 2, "drain enabled once per victim");
    assert_eq!(stats.get("octopus.octopusservernodes.delete"), 2, "each node record deleted once");
    assert_eq!(stats.get("octopus.tasks.cancel"), 0);
    assert_eq!(stats.get("arm.delete_instances"), 1);
    let enables =
        journaled(&bench, |a| matches!(a, JournalAction::Drain { effect: DrainEffect::EnableDrain, .. }));
    assert_eq!(enables, 2, "no enable journaled twice");
    let mut nodes: Vec<String> = bench.sim.with_world(|w| w.nodes.iter().map(|n| n.name.clone()).collect());
    nodes.sort();
    assert_eq!(nodes, vec!["OCTO000000", "OCTO000001"]);
    let (records, _) = bench.journal();
    let open: Vec<String> = journal::pending_intents(&records).iter().map(|r| r.action.summary()).collect();
    assert!(open.is_empty(), "the interrupted steps are closed by the job that resumed them: {open:?}");
}

/// A drain enable journaled by a killed run that never reached Octopus (the node shows drain
/// off) is sent again at once by the run that resumes, not after the resend delay; the
/// interrupted intent is closed as not in effect.
#[tokio::test(flavor = "multi_thread")]
async fn a_drain_enable_that_never_landed_is_sent_again_at_once_on_resume() {
    use scaleguard::ha::Victim;
    use scaleguard::journal::{Journal, Outcome, RecordKind};
    let bench =
        Bench::start(SimOptions::new("ha-scale").speed(20.0), |toml| set_toml(&toml, "refresh_secs", "1"))
            .await;
    let config = scaleguard::config::ConfigFile::load(&bench.config).unwrap();
    let set = config.profile(None).unwrap().1.nodes_scale_set().unwrap().unwrap();
    let victim = |n: u32| Victim {
        node_id: format!("OctopusServerNodes-OCTO00000{n}"),
        node_name: format!("OCTO00000{n}"),
        instance_id: n.to_string(),
        vm_id: None,
        computer_name: Some(format!("octo00000{n}")),
        why: "idle".into(),
    };
    let journal = Journal::open(&bench.journal_path()).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let job = JournalAction::ScaleInJob {
        scale_set: set,
        victims: vec![victim(3), victim(2)],
        wait_secs: 1800,
        hook: None,
    };
    journal.append_intent("sim", "nightly", job, now).unwrap();
    let enable = JournalAction::Drain {
        node_id: "OctopusServerNodes-OCTO000002".into(),
        node_name: "OCTO000002".into(),
        effect: DrainEffect::EnableDrain,
    };
    let open = journal.append_intent("sim", "step", enable, now).unwrap();

    let mut child = spawn(&bench);
    let drained = || {
        bench.sim.with_world(|w| w.nodes.iter().any(|n| n.name == "OCTO000002" && n.is_in_maintenance_mode))
    };
    let started = Instant::now();
    while !drained() && started.elapsed() < Duration::from_secs(8) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill_after(&mut child, Duration::from_millis(0)).await;
    assert!(drained(), "drain sent again at once, not after the resend delay");
    let (records, _) = bench.journal();
    let closed =
        records.iter().find(|r| r.kind == RecordKind::Result && r.intent_id == open.intent_id).unwrap();
    assert!(
        matches!(&closed.outcome, Some(Outcome::Failed(why)) if why.contains("did not take effect")),
        "{closed:?}"
    );
}
