//! Two processes on one machine (two consoles, a console and a runbook) save the observation
//! history at the same moment: the file left behind must always load.

use scaleguard::reconcile::{self, testkit, History, MatchedSnapshot};
use std::sync::{Arc, Barrier};

fn history(observations: u32) -> History {
    let profile = testkit::profile();
    let mut history = History::default();
    for step in 0..observations {
        let instances: Vec<u32> = (1..=(observations - step)).collect();
        let snapshot = testkit::SnapshotBuilder::new(testkit::at(i64::from(step) * 60))
            .set(
                "vmss-web",
                instances.len() as u32,
                instances.iter().map(|i| testkit::vm("vmss-web", *i)).collect(),
            )
            .targets(
                (1..=observations)
                    .map(|i| testkit::target_on(&format!("Machines-{i}"), "vmss-web", i))
                    .collect(),
            )
            .build();
        history.observe(&MatchedSnapshot::new(&snapshot, &profile));
    }
    history
}

#[test]
fn concurrent_saves_never_leave_a_torn_history_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("history-sim.json"));
    // Different sizes: an interleaved write of the shorter over the longer leaves garbage behind.
    let (small, large) = (Arc::new(history(2)), Arc::new(history(40)));
    for round in 0..400 {
        let barrier = Arc::new(Barrier::new(2));
        let writers: Vec<_> = [small.clone(), large.clone()]
            .into_iter()
            .map(|h| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    reconcile::save_history(&path, &h).map_err(|err| err.to_string())
                })
            })
            .collect();
        for writer in writers {
            if let Err(err) = writer.join().unwrap() {
                panic!("round {round}: a concurrent save failed: {err}");
            }
        }
        let loaded = reconcile::load_history(&path)
            .unwrap_or_else(|err| panic!("round {round}: the history no longer loads: {err}"));
        assert!(loaded == *small || loaded == *large, "round {round}: a mix of two saves");
    }
}
