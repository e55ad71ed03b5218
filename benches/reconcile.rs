//! One refresh at scale: 10,000 VMs and 10,000 targets through matching, `History::observe` and
//! `plan` (100 targets whose VMs are gone and past the grace period, 900 new targets to deploy to).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use scaleguard::model::TaskState;
use scaleguard::reconcile::testkit::{self, at, SnapshotBuilder};
use scaleguard::reconcile::{plan_matched, History, MatchedSnapshot};
use scaleguard::snapshot::Snapshot;
use std::hint::black_box;
use std::time::Instant;

const VMS: u32 = 10_000;
const STALE_TARGETS: u32 = 100;
const HAVE_RELEASE: u32 = 9_000;

fn snapshot(secs: i64) -> Snapshot {
    let vms = (0..VMS).map(|i| testkit::vm("web", i)).collect();
    // Targets for every VM but the last 100, plus 100 whose VMs were scaled in (ids above VMS).
    let targets = (0..VMS - STALE_TARGETS)
        .chain(VMS..VMS + STALE_TARGETS)
        .map(|i| testkit::target_on(&format!("Machines-{i}"), "web", i))
        .collect();
    let ids: Vec<String> = (0..HAVE_RELEASE).map(|i| format!("Machines-{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut project = testkit::project("Projects-1", Some("Releases-1"));
    project.deployments =
        vec![testkit::deployment("Deployments-1", "Projects-1", "Releases-1", &[], &ids, TaskState::Success)];
    SnapshotBuilder::new(at(secs)).set("web", VMS, vms).targets(targets).project(project).build()
}

fn refresh_at_scale(c: &mut Criterion) {
    let profile = testkit::profile();
    let mut warm = History::default();
    for secs in [0, 200, 400] {
        let earlier = snapshot(secs);
        warm.observe(&MatchedSnapshot::new(&earlier, &profile));
    }
    let current = snapshot(600);
    {
        // One timed pass per phase: where the time goes, next to criterion's total.
        let started = Instant::now();
        let matched = MatchedSnapshot::new(&current, &profile);
        let matching = started.elapsed();
        let mut history = warm.clone();
        let started = Instant::now();
        history.observe(&matched);
        let observed = started.elapsed();
        let started = Instant::now();
        let plan = plan_matched(&matched, &history, current.taken_at, &profile);
        eprintln!("one pass: match {matching:?}, observe {observed:?}, plan {:?}", started.elapsed());
        let summary = scaleguard::reconcile::summarize(&plan);
        assert_eq!((summary.deletes, summary.deploy_targets), (STALE_TARGETS as usize, 900));
        eprintln!("plan at scale: {summary}");
    }
    c.bench_function("reconcile 10k VMs x 10k targets (match + observe + plan)", |b| {
        b.iter_batched(
            || warm.clone(),
            |mut history| {
                let matched = MatchedSnapshot::new(black_box(&current), &profile);
                history.observe(&matched);
                black_box(plan_matched(&matched, &history, current.taken_at, &profile))
            },
            BatchSize::LargeInput,
        )
    });
}

criterion_group!(benches, refresh_at_scale);
criterion_main!(benches);
