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
