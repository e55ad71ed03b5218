//! AWS Auto Scaling groups and their lifecycle hooks: what lets scaleguard act before an instance
//! goes or comes into service, and what makes it wait or lose the race against a timeout.
//!
//! - No terminating hook: the target of a terminated instance lingers until the absence rule (K
//!   complete listings over the grace period) has seen it gone.
//! - Several hooks on one transition: which one is scaleguard's cannot be told, so it completes
//!   none of them.
//! - A terminating hook's heartbeat timeout shorter than the profile's drain deadline: an HA node
//!   being drained on the instance would still run when the hook lets the instance go.
//! - A launching hook whose default result is CONTINUE: an instance whose deployment never ran
//!   goes into service without the release when the hook times out.

use super::finding::{source, Finding};
use crate::model::{AwsGroup, HookTransition, Severity};

pub const NO_TERMINATING_HOOK: &str = "aws.no-terminating-hook";
pub const SEVERAL_HOOKS: &str = "aws.several-hooks";
pub const LAUNCH_HOOK_CONTINUES: &str = "aws.launch-hook-continues";

pub fn check(group: &AwsGroup, subject: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let finding = |id, severity, observed: String, recommended: &str, why: &str, fix: &str| Finding {
        id,
        severity,
        subject: subject.to_string(),
        observed,
        recommended: recommended.into(),
        why: why.into(),
        fix: fix.into(),
        source: source::AWS_LIFECYCLE_HOOKS,
    };
    if group.hooks_on(HookTransition::Terminating).next().is_none() {
        findings.push(finding(
            NO_TERMINATING_HOOK,
            Severity::Warning,
            "no EC2_INSTANCE_TERMINATING lifecycle hook".into(),
            "one terminating hook that scaleguard completes",
            "without one, an instance is gone before scaleguard sees it going: its target lingers until the \
             absence rule has seen it missing from enough complete listings",
            "add a lifecycle hook on autoscaling:EC2_INSTANCE_TERMINATING (default result CONTINUE)",
        ));
    }
    for transition in [HookTransition::Launching, HookTransition::Terminating] {
        let names: Vec<&str> = group.hooks_on(transition).map(|h| h.name.as_str()).collect();
        if names.len() > 1 {
            findings.push(finding(
                SEVERAL_HOOKS,
                Severity::Warning,
                format!("{} {} hooks: {}", names.len(), transition.as_str(), names.join(", ")),
                "one hook per transition for scaleguard",
                "which hook is scaleguard's cannot be told, so it completes none and each instance waits for \
                 the timeout",
                "keep one hook per transition, or let the other hook's owner complete it first",
            ));
        }
    }
    if let Some(hook) = group.sole_hook(HookTransition::Launching) {
        if hook.default_result.as_deref().is_some_and(|r| r.eq_ignore_ascii_case("CONTINUE")) {
            findings.push(finding(
                LAUNCH_HOOK_CONTINUES,
                Severity::Warning,
                format!("launching hook {} defaults to CONTINUE", hook.name),
                "DefaultResult ABANDON on the launching hook",
                "an instance whose deployment never ran goes into service without the release when the hook \
                 times out",
                "set the launching hook's DefaultResult to ABANDON",
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LifecycleHook;

    fn group(hooks: Vec<LifecycleHook>) -> AwsGroup {
        crate::reconcile::testkit::aws_group(10, hooks)
    }

    fn hook(name: &str, transition: HookTransition, timeout: u64, result: &str) -> LifecycleHook {
        LifecycleHook {
            name: name.into(),
            transition,
            heartbeat_timeout_secs: Some(timeout),
            default_result: Some(result.into()),
            global_timeout_secs: None,
        }
    }

    fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.id).collect()
    }

    #[test]
    fn a_group_with_one_hook_each_way_and_long_timeouts_is_fine() {
        let good = group(vec![
            hook("deploy", HookTransition::Launching, 900, "ABANDON"),
            hook("drain", HookTransition::Terminating, 3600, "CONTINUE"),
        ]);
        assert_eq!(ids(&check(&good, "web-asg")), Vec::<&str>::new());
    }

    #[test]
    fn each_risk_is_named() {
        assert_eq!(ids(&check(&group(vec![]), "web-asg")), vec![NO_TERMINATING_HOOK]);
        let risky = group(vec![
            hook("deploy", HookTransition::Launching, 900, "CONTINUE"),
            hook("drain", HookTransition::Terminating, 900, "CONTINUE"),
        ]);
        assert_eq!(ids(&check(&risky, "web-asg")), vec![LAUNCH_HOOK_CONTINUES]);
        let several = group(vec![
            hook("a", HookTransition::Terminating, 3600, "CONTINUE"),
            hook("b", HookTransition::Terminating, 3600, "CONTINUE"),
        ]);
        let found = check(&several, "web-asg");
        assert_eq!(ids(&found), vec![SEVERAL_HOOKS]);
        assert!(found[0].observed.contains("a, b"));
    }
}
