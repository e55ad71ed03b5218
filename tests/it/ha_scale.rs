//! The HA cluster on a scale set (`ha-scale`: four nodes on vmss-octo's VMs, two busy for an hour,
//! one for 90 s, one idle), over real HTTP: a drain-first scale-in by 2 drains the idle and the
//! short-busy node, removes exactly their VMs with one delete, then deletes exactly their node
//! records; a plain scale-in of the set is refused; a new node is held at task cap 0 and
//! `admit` raises it, each journaled.

use crate::support::clients::{octopus, profile};
use crate::support::static_token::StaticToken;
use scaleguard::config::Profile;
use scaleguard::drain::DrainEffect;
use scaleguard::journal::{read_all, Journal, JournalAction, Outcome, Record, RecordKind};
use scaleguard::model::ScaleSetKey;
use scaleguard::node_job::{NodeJobRunner, ScaleInRunner};
use scaleguard::providers::azure::AzureProvider;
use scaleguard::sim::world::TaskState;
use scaleguard::sim::{self, RunningSim, SimOptions};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub const NODES_SET: &str = "vmss-octo";

pub struct Setup {
    pub sim: Arc<RunningSim>,
    _dir: tempfile::TempDir,
    pub journal: PathBuf,
    pub profile: Profile,
    /// Moves the simulator's clock while the test runs (a provider's wait needs time to pass).
    ticker: tokio::task::JoinHandle<()>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.ticker.abort();
    }
}

/// `ha-scale` on a manual clock that a background task moves 2 simulated seconds every 20 ms.
pub async fn setup(edit: impl FnOnce(String) -> String) -> Setup {
    let sim =
        Arc::new(sim::start(SimOptions::new("ha-scale").manual_clock()).await.expect("simulator starts"));
    let (_, profile) = profile(&sim, edit);
    let dir = tempfile::tempdir().unwrap();
    let advance = sim.advancer();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if advance(Duration::from_secs(2)).is_err() {
                return;
            }
        }
    });
    Setup { journal: dir.path().join("journal.jsonl"), profile, sim, _dir: dir, ticker }
}

impl Setup {
    pub fn runner(&self) -> ScaleInRunner {
        let journal = Arc::new(Journal::open(&self.journal).unwrap());
        let nodes =
            NodeJobRunner::new(octopus(&self.sim, &self.profile), journal, "sim", self.profile.nodes.clone())
                .with_clock(self.sim.clock());
        let token = Arc::new(StaticToken(self.sim.arm_token()));
        let provider = AzureProvider::with_credential(&self.profile.azure, token)
            .expect("Azure provider")
            .with_poll_interval(Duration::from_millis(20));
        ScaleInRunner::new(nodes, self.profile.clone()).with_provider(Arc::new(provider))
    }

    pub fn key(&self) -> ScaleSetKey {
        self.profile.nodes_scale_set().unwrap().unwrap()
    }

    pub fn records(&self) -> Vec<Record> {
        let (records, warnings) = read_all(&self.journal).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        records
    }

    pub fn node_names(&self) -> Vec<String> {
        self.sim.with_world(|w| w.nodes.iter().map(|n| n.name.clone()).collect())
    }

    pub fn octo_vms(&self) -> Vec<u64> {
        self.sim.with_world(|w| {
            let set = &w.scale_sets[w.set_index(NODES_SET).unwrap()];
            set.vms.iter().map(|vm| vm.instance_id).collect()
        })
    }
}

/// Intents journaled, in order, with how each ended.
fn story(records: &[Record]) -> Vec<(JournalAction, Option<Outcome>)> {
    records
        .iter()
        .filter(|r| r.kind == RecordKind::Intent)
        .map(|intent| {
            let result =
                records.iter().find(|r| r.kind == RecordKind::Result && r.intent_id == intent.intent_id);
            (intent.action.clone(), result.and_then(|r| r.outcome.clone()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scale_in_by_two_drains_first_and_removes_exactly_those_vms_and_node_records() {
    let s = setup(|toml| toml).await;
    tokio::time::sleep(Duration::from_millis(100)).await; // the scenario's tasks start at t=1
    let runner = s.runner();
    let plan = runner.plan(&s.key(), 2, "fewer nodes overnight", false).await.unwrap();
    assert!(plan.is_allowed(), "{:#?}", plan.lines());
    let chosen: Vec<&str> = plan.choice.victims.iter().map(|v| v.node_name.as_str()).collect();
    assert_eq!(chosen, vec!["OCTO000003", "OCTO000002"], "the idle node, then the shortest-busy by policy");
    let text = plan.lines().join("\n");
    assert!(text.contains("OCTO000003 (VM 3): idle") && text.contains("drain-first"), "{text}");
    let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = lines.clone();
    let outcome = runner
        .run(
            Some(&plan),
            "fewer nodes overnight",
            Duration::from_millis(20),
            true,
            &mut move |p| seen.lock().unwrap().push(p.line()),
            &mut |_| panic!("no question: the busy victim's task ends well before the deadline"),
        )
        .await
        .unwrap();
    assert!(outcome.progress.done, "{outcome:?}");
    assert_eq!(s.octo_vms(), vec![0, 1], "exactly the two victims' VMs are gone");
    let mut names = s.node_names();
    names.sort();
    assert_eq!(names, vec!["OCTO000000", "OCTO000001"], "exactly their node records are gone");
    let stats = s.sim.stats();
    assert_eq!(stats.get("arm.delete_instances"), 1, "one delete, by instance id");
    assert_eq!(stats.get("arm.patch_scale_set"), 0, "never a capacity decrement");
    assert_eq!(stats.get("octopus.octopusservernodes.delete"), 2);
    assert_eq!(stats.get("octopus.tasks.cancel"), 0, "no task cancelled: OCTO000002's finished");
    let busy_untouched = s.sim.with_world(|w| {
        w.tasks.iter().filter(|t| t.state == TaskState::Executing).count() == 2
            && w.nodes.iter().all(|n| !n.is_in_maintenance_mode)
    });
    assert!(busy_untouched, "the busy nodes kept their tasks and were never drained");

    let story = story(&s.records());
    let position = |want: &dyn Fn(&JournalAction) -> bool| story.iter().position(|(a, _)| want(a)).unwrap();
    let vm_delete = position(&|a| matches!(a, JournalAction::DeleteInstances { .. }));
    let first_node_delete =
        position(&|a| matches!(a, JournalAction::Drain { effect: DrainEffect::DeleteNode, .. }));
    let last_enable = story
        .iter()
        .rposition(|(a, _)| matches!(a, JournalAction::Drain { effect: DrainEffect::EnableDrain, .. }))
        .unwrap();
    assert!(last_enable < vm_delete && vm_delete < first_node_delete, "drain, VMs, records: {story:#?}");
    match &story[vm_delete] {
        (JournalAction::DeleteInstances { instance_ids, .. }, Some(Outcome::Done)) => {
            assert_eq!(instance_ids, &vec!["3".to_string(), "2".to_string()])
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&story[0], (JournalAction::ScaleInJob { victims, .. }, Some(Outcome::Done)) if victims.len() == 2)
    );
    assert!(story.iter().all(|(_, outcome)| outcome == &Some(Outcome::Done)), "{story:#?}");
    let progress = lines.lock().unwrap().join("\n");
    assert!(progress.contains("OCTO000002 waiting for tasks (1 running)"), "{progress}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_scale_in_of_the_nodes_set_is_refused_with_a_pointer() {
    let s = setup(|toml| toml).await;
    let journal = Journal::open(&s.journal).unwrap();
    let token = Arc::new(StaticToken(s.sim.arm_token()));
    let provider = AzureProvider::with_credential(&s.profile.azure, token).unwrap();
    let scaling = scaleguard::scaling::Scaling::new("sim", s.profile.clone(), journal)
        .with_provider(Arc::new(provider))
        .with_clock(s.sim.clock());
    let proposal = scaling.prepare(&s.key(), 2, "plain", false).await.unwrap();
    assert!(!proposal.is_allowed());
    let said = proposal.lines().join("\n");
    assert!(
        said.contains("hosts the Octopus HA nodes") && said.contains("node scale-in vmss-octo --count 2"),
        "{said}"
    );
    // Even a proposal made elsewhere is refused at apply time.
    let mut forged = proposal.clone();
    forged.verdict = scaleguard::guard::Verdict::Allowed {
        from: 4,
        to: 2,
        expected_victims: vec![],
        forced: false,
        warnings: vec![],
    };
    let outcome = scaling.apply(&forged).await.unwrap();
    assert!(matches!(outcome, scaleguard::scaling::ScaleOutcome::Refused { .. }), "{outcome:?}");
    assert_eq!(s.sim.stats().get("arm.patch_scale_set"), 0);
    assert_eq!(s.octo_vms().len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_node_is_held_at_cap_zero_and_admit_raises_it_both_journaled() {
    let s = setup(|toml| toml).await;
    let runner = s.runner();
    let client = octopus(&s.sim, &s.profile);
    let before = client.nodes().await.unwrap();
    assert!(s.profile.nodes.admit_with_task_cap_zero, "ha-scale's profile holds new nodes");
    // Scale out by one: the new VM provisions, its node registers with task cap 5.
    let index = s.sim.with_world(|w| w.set_index(NODES_SET).unwrap());
    s.sim.with_world_mut(|w| w.set_capacity(index, 5));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let now = loop {
        let nodes = client.nodes().await.unwrap();
        if nodes.len() == 5 {
            break nodes;
        }
        assert!(std::time::Instant::now() < deadline, "no new node");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let new = now.iter().find(|n| !before.iter().any(|b| b.id == n.id)).unwrap().clone();
    assert_eq!(new.max_concurrent_tasks, 5);
    assert!(
        runner.nodes().hold_new(None, &now).await.unwrap().is_empty(),
        "no earlier listing: nothing is new"
    );
    let held = runner.nodes().hold_new(Some(&before), &now).await.unwrap();
    assert_eq!(held.len(), 1);
    assert!(held[0].held, "{held:?}");
    assert_eq!(
        s.sim.with_world(|w| w.nodes.iter().find(|n| n.id == new.id).unwrap().max_concurrent_tasks),
        0
    );
    // Held nodes are not new twice.
    let again = client.nodes().await.unwrap();
    assert!(runner.nodes().hold_new(Some(&now), &again).await.unwrap().is_empty());

    let admission = runner.nodes().admission(&new.name).await.unwrap();
    assert!(!admission.verified && admission.visible_ok(), "{admission:?}");
    let admitted =
        runner.nodes().admit(&new.name, None, "checked the portal, logs and a tentacle").await.unwrap();
    assert_eq!((admitted.from, admitted.to), (0, 5), "the cap it had before the hold");
    assert_eq!(
        s.sim.with_world(|w| w.nodes.iter().find(|n| n.id == new.id).unwrap().max_concurrent_tasks),
        5
    );
    assert!(
        runner.nodes().admission(&new.name).await.unwrap().verified,
        "the journal records the verification"
    );
    let story = story(&s.records());
    let hold = story
        .iter()
        .position(|(a, o)| matches!(a, JournalAction::TaskCap { to: 0, .. }) && o == &Some(Outcome::Done));
    let admit = story.iter().position(|(a, o)| {
        matches!(a, JournalAction::Admit { task_cap: 5, .. }) && o == &Some(Outcome::Done)
    });
    assert!(hold.is_some() && admit.is_some() && hold < admit, "{story:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unfinished_scale_in_owns_its_nodes_and_is_resumed_never_replaced() {
    let s = setup(|toml| toml).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let runner = s.runner();
    let plan = runner.plan(&s.key(), 1, "one fewer", false).await.unwrap();
    assert!(plan.is_allowed(), "{:#?}", plan.lines());
    let victim = plan.choice.victims[0].node_name.clone();
    // Started, then the process "dies" after its first tick: the journal holds the job.
    let mut session = runner.open(Some(&plan), "one fewer").await.unwrap();
    session.tick().await.unwrap();
    drop(session);
    let err = runner.nodes().open_drain(&victim, &Default::default()).await.err().unwrap();
    assert!(err.to_string().contains("unfinished drain-first scale-in"), "{err}");
    // A different scale-in is not started over it: the operator resumes the one in the journal.
    let other = runner.plan(&s.key(), 2, "two fewer", false).await.unwrap();
    let err = runner.open(Some(&other), "two fewer").await.err().unwrap();
    assert!(err.to_string().contains("resume it first"), "{err}");
    let resumed = runner.open(None, "").await.unwrap();
    assert!(resumed.is_resumed());
    assert_eq!(resumed.job().victims[0].victim.node_name, victim);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_victim_whose_vm_changed_since_it_was_shown_is_not_removed() {
    let s = setup(|toml| toml).await;
    let runner = s.runner();
    let mut shown = runner.plan(&s.key(), 1, "fewer nodes", false).await.unwrap();
    assert_eq!(shown.choice.victims[0].label(), "OCTO000003 (VM 3)");
    // What the operator approved: the same node, but on another VM than the one it is on now
    // (renamed, replaced or re-paired between the dialog and the Enter).
    shown.choice.victims[0].instance_id = "2".into();
    let opened = runner.open(Some(&shown), "fewer nodes").await;
    assert!(opened.is_err(), "a job over another VM than the one approved was started");
    let err = opened.err().unwrap().to_string();
    assert!(err.contains("VM 3") && err.contains("VM 2") && err.contains("nothing was changed"), "{err}");
    assert!(s.records().is_empty(), "nothing journaled");
}
