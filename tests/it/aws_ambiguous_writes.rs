//! AWS writes whose answer is ambiguous (the service acted, then answered 503), while another
//! actor (a scaling policy, another operator) changes the group in between: the real binary
//! against the simulator, the world judging what really happened.

use crate::support::bench::Bench;
use scaleguard::sim::{EventAction, FaultSpec, RequestHook, SimOptions};
use std::time::Duration;

const GROUP: &str = "web-asg";

/// The aws-scale-in group (5 instances) steady, its scripted scale-in taken out, its cooldowns past.
async fn steady_group(edit: impl FnOnce(String) -> String) -> Bench {
    let bench =
        Bench::start(SimOptions::new("aws-scale-in").manual_clock(), |toml| edit(Bench::apply_profile(toml)))
            .await
            .with_sim_clock();
    bench.sim.with_world_mut(|w| w.events.clear());
    bench.sim.advance(Duration::from_secs(3600)).unwrap();
    bench
}

fn desired(bench: &Bench) -> u32 {
    bench.sim.with_world(|w| w.aws.groups.iter().find(|g| g.name == GROUP).unwrap().desired)
}

/// The first SetDesiredCapacity acts, then answers 503 (an ambiguous failure).
fn first_set_desired_acts_then_503(bench: &Bench) {
    first_set_desired_answers(bench, "act_then_503");
}

/// The first SetDesiredCapacity gets the simulator's fault `kind`.
fn first_set_desired_answers(bench: &Bench, kind: &str) {
    bench.sim.before_next_request(RequestHook {
        method: None,
        path_prefix: "autoscaling.SetDesiredCapacity".into(),
        action: EventAction::Fault(FaultSpec {
            target: "autoscaling.SetDesiredCapacity".into(),
            kind: kind.into(),
            count: 1,
            retry_after_secs: None,
            delay_ms: None,
        }),
    });
}

/// SetDesiredCapacity acts, then answers 503. AWS has no ETag: a blind repeat of the write would
/// set the operator's number over whatever changed the group meanwhile (a scaling policy's
/// scale-out, turned into a scale-in nobody confirmed). So it is sent once, and the group read
/// back tells what happened: here it wants the operator's 6, so the change is done.
#[tokio::test(flavor = "multi_thread")]
async fn a_set_desired_capacity_that_acted_then_answered_503_is_read_back_never_sent_again() {
    let bench = steady_group(|toml| toml).await;
    assert_eq!(desired(&bench), 5);
    first_set_desired_acts_then_503(&bench);
    let scale = bench.run(&["scale", GROUP, "--capacity", "6", "--yes", "--reason", "load test"]).await;
    scale.assert_no_panic("scale");
    let said = format!("exit {}:\n{}{}", scale.code, scale.stdout, scale.stderr);
    assert_eq!(bench.stat("autoscaling.SetDesiredCapacity"), 1, "sent once: {said}");
    assert_eq!((desired(&bench), scale.code), (6, 0), "{said}");
    assert!(scale.stdout.contains("done: capacity changed from 5 to 6"), "{said}");
}

/// SetDesiredCapacity answers 503 without acting: read back, the group still wants 5, so the
/// change failed and says it was not sent again (the operator runs it again, read afresh).
#[tokio::test(flavor = "multi_thread")]
async fn a_set_desired_capacity_that_answered_503_without_acting_fails_not_sent_again() {
    let bench = steady_group(|toml| toml).await;
    first_set_desired_answers(&bench, "503");
    let scale = bench.run(&["scale", GROUP, "--capacity", "6", "--yes", "--reason", "load test"]).await;
    scale.assert_no_panic("scale");
    let said = format!("exit {}:\n{}{}", scale.code, scale.stdout, scale.stderr);
    assert_eq!(bench.stat("autoscaling.SetDesiredCapacity"), 1, "sent once: {said}");
    assert_eq!(desired(&bench), 5, "{said}");
    assert_ne!(scale.code, 0, "{said}");
    assert!(
        said.contains("read back, the group wants 5 (it was 5)") && said.contains("not sent again"),
        "{said}"
    );
}

/// With `honor_cooldown = true` the repeat after an acted-then-503 SetDesiredCapacity is refused
/// (ScalingActivityInProgress: scaleguard's own first write started the activity), and the result
/// must not claim that nothing was changed: the capacity did move to the operator's number.
#[tokio::test(flavor = "multi_thread")]
async fn an_acted_then_503_set_desired_capacity_is_never_reported_as_nothing_changed() {
    let bench = steady_group(|toml| {
        toml.replace("[profiles.sim.aws]\n", "[profiles.sim.aws]\nhonor_cooldown = true\n")
    })
    .await;
    assert!(std::fs::read_to_string(&bench.config).unwrap().contains("honor_cooldown = true"));
    first_set_desired_acts_then_503(&bench);

    let scale = bench.run(&["scale", GROUP, "--capacity", "6", "--yes", "--reason", "load test"]).await;
    scale.assert_no_panic("scale");
    assert_eq!(desired(&bench), 6, "the first SetDesiredCapacity acted");
    let said = format!("{}{}", scale.stdout, scale.stderr);
    assert!(
        !said.contains("nothing was changed"),
        "the capacity moved 5 -> 6 by this very command, yet it says nothing was changed (exit {}):\n{said}",
        scale.code
    );
    let (records, _) = bench.journal();
    let results: Vec<String> = records.iter().map(|r| format!("{r:?}")).collect();
    assert!(
        !results.iter().any(|r| r.contains("Skipped") && r.contains("nothing was changed")),
        "the journal records the change that happened as skipped:\n{}",
        results.join("\n")
    );
}

/// `aws-scale-in` with its two instances waiting on the terminating hook, and the first
/// CompleteLifecycleAction answered with the fault `kind`: `apply`'s completions, as "summary ->
/// outcome", and how many CompleteLifecycleAction calls reached the simulator.
async fn completions_when_the_first_continue_gets(kind: &str) -> (Vec<String>, u64) {
    let bench = Bench::start(SimOptions::new("aws-scale-in").manual_clock(), Bench::apply_profile)
        .await
        .with_sim_clock();
    bench.sim.advance(Duration::from_secs(70)).unwrap();
    let waiting = bench.sim.with_world(|w| {
        w.aws.groups[0].instances.iter().filter(|i| i.lifecycle.as_str() == "Terminating:Wait").count()
    });
    assert_eq!(waiting, 2, "two instances wait on the terminating hook");
    let fault = FaultSpec {
        target: "autoscaling.CompleteLifecycleAction".into(),
        kind: kind.into(),
        count: 1,
        retry_after_secs: None,
        delay_ms: None,
    };
    bench.sim.inject_fault(fault).unwrap();
    let apply = bench.run(&["apply", "--yes", "--format", "json"]).await;
    apply.assert_no_panic("apply");
    let reports = apply.json()["reports"].as_array().cloned().unwrap_or_default();
    let completions: Vec<String> = reports
        .iter()
        .filter(|r| r["summary"].as_str().unwrap_or_default().contains("complete-lifecycle"))
        .map(|r| format!("{} -> {}", r["summary"], r["outcome"]))
        .collect();
    assert_eq!(completions.len(), 2, "{}{}", apply.stdout, apply.stderr);
    (completions, bench.stat("autoscaling.CompleteLifecycleAction"))
}

/// CompleteLifecycleAction CONTINUE acts, then answers 503: the instance no longer waits, so the
/// CONTINUE was scaleguard's own and is done. (Repeated, it used to be refused, "No active
/// Lifecycle Action found", and reported skipped: an audit would then blame the hook's
/// DefaultResult for a termination scaleguard let go.)
#[tokio::test(flavor = "multi_thread")]
async fn a_continue_that_acted_then_answered_503_is_not_reported_as_skipped() {
    let (completions, sent) = completions_when_the_first_continue_gets("act_then_503").await;
    assert!(
        completions.iter().all(|c| c.ends_with(r#"{"status":"done"}"#)),
        "scaleguard's own CONTINUE landed (then 503): done, never skipped:\n{}",
        completions.join("\n")
    );
    assert_eq!(sent, 2, "one call per instance: the one that landed is not sent again");
}

/// CompleteLifecycleAction answers 503 without acting: the instance still waits, so the CONTINUE
/// is sent once more (a second completion cannot act twice) and lands.
#[tokio::test(flavor = "multi_thread")]
async fn a_continue_answered_503_without_acting_is_sent_once_more() {
    let (completions, sent) = completions_when_the_first_continue_gets("503").await;
    assert!(completions.iter().all(|c| c.ends_with(r#"{"status":"done"}"#)), "{}", completions.join("\n"));
    assert_eq!(sent, 3, "the instance still waited after the 503: one call more");
}

/// SetDesiredCapacity acts, then answers 503, and the read-back that should settle it fails too
/// (here AccessDenied on DescribeAutoScalingGroups; a second outage does the same). The capacity
/// did move 5 -> 6: the operator and the journal are told the write may have landed and was not
/// sent again (the read-back's own error used to replace the 503).
#[tokio::test(flavor = "multi_thread")]
async fn a_set_desired_capacity_whose_read_back_fails_says_the_write_may_have_landed() {
    let bench = steady_group(|toml| toml).await;
    bench
        .sim
        .inject_fault(FaultSpec {
            target: "autoscaling.SetDesiredCapacity".into(),
            kind: "act_then_503".into(),
            count: 1,
            retry_after_secs: None,
            delay_ms: None,
        })
        .unwrap();
    // Right before SetDesiredCapacity is served, the reads start failing.
    bench.sim.before_next_request(RequestHook {
        method: None,
        path_prefix: "autoscaling.SetDesiredCapacity".into(),
        action: EventAction::Fault(FaultSpec {
            target: "autoscaling.DescribeAutoScalingGroups".into(),
            kind: "403".into(),
            count: 20,
            retry_after_secs: None,
            delay_ms: None,
        }),
    });
    let scale = bench.run(&["scale", GROUP, "--capacity", "6", "--yes", "--reason", "load test"]).await;
    scale.assert_no_panic("scale");
    let said = format!("exit {}:\n{}{}", scale.code, scale.stdout, scale.stderr);
    assert_eq!(bench.stat("autoscaling.SetDesiredCapacity"), 1, "sent once: {said}");
    assert_eq!(desired(&bench), 6, "the write landed: {said}");
    let (records, _) = bench.journal();
    let journaled: Vec<String> = records.iter().map(|r| format!("{r:?}")).collect();
    let journaled = journaled.join("\n");
    assert!(
        said.contains("SetDesiredCapacity") && said.contains("may have"),
        "the write landed (5 -> 6) but the report does not name SetDesiredCapacity's ambiguous answer nor say it \
         may have landed: {said}\njournal:\n{journaled}"
    );
}
