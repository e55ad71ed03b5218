use super::*;
use crate::config::AutoscalePolicy;
use crate::model::{OrchestrationMode, PowerState, ProvisioningState};
use proptest::prelude::*;
use time::macros::datetime;
use time::Duration;

const NOW: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

fn key() -> ScaleSetKey {
    ScaleSetKey {
        provider: "azure".into(),
        subscription_id: "sub".into(),
        resource_group: "rg".into(),
        name: "web".into(),
    }
}

fn config() -> GuardConfig {
    GuardConfig {
        min_capacity: 1,
        max_capacity: 10,
        max_step: 3,
        cooldown_secs: 600,
        require_reason: true,
        autoscale: AutoscalePolicy::Refuse,
    }
}

fn state(capacity: u32) -> ScaleSetState {
    ScaleSetState {
        key: key(),
        location: Some("westeurope".into()),
        capacity,
        provisioning_state: ProvisioningState::Succeeded,
        overprovision: false,
        orchestration_mode: OrchestrationMode::Uniform,
        scale_in_rules: vec!["Default".into()],
        etag: Some("\"5\"".into()),
        last_changed: None,
        layout: Default::default(),
        aws: None,
    }
}

fn instance(id: u64, protected: bool) -> Instance {
    Instance {
        scale_set: key().into(),
        instance_id: id.to_string(),
        vm_id: Some(format!("vm-{id}")),
        name: format!("web_{id}"),
        computer_name: Some(format!("web{id:06}")),
        guest_computer_name: None,
        provisioning_state: ProvisioningState::Succeeded,
        power_state: PowerState::Running,
        latest_model_applied: Some(true),
        protected_from_scale_in: Some(protected),
        placement: Default::default(),
        aws: None,
    }
}

fn instances(count: u64) -> Vec<Instance> {
    (0..count).map(|id| instance(id, false)).collect()
}

fn request(new_capacity: u32) -> ScaleRequest {
    ScaleRequest { scale_set: key(), new_capacity, reason: "load test".into(), force: false }
}

fn change(at: OffsetDateTime) -> ScaleChange {
    ScaleChange { scale_set: key(), at, from: Some(2), to: Some(3), by: Some("alice via scaleguard".into()) }
}

fn refusals(verdict: &Verdict) -> Vec<Refusal> {
    verdict.refusals().to_vec()
}

#[test]
fn allows_a_change_within_every_limit() {
    let verdict = evaluate(&config(), &request(5), &state(3), &instances(3), &[], &OtherScalers::none(), NOW);
    assert_eq!(
        verdict,
        Verdict::Allowed { from: 3, to: 5, expected_victims: vec![], forced: false, warnings: vec![] }
    );
}

#[test]
fn allowed_scale_in_names_the_highest_ids_as_victims() {
    let verdict = evaluate(&config(), &request(2), &state(4), &instances(4), &[], &OtherScalers::none(), NOW);
    assert_eq!(
        verdict,
        Verdict::Allowed {
            from: 4,
            to: 2,
            expected_victims: vec!["3".into(), "2".into()],
            forced: false,
            warnings: vec![]
        }
    );
}

#[test]
fn refuses_below_minimum() {
    let mut config = config();
    config.min_capacity = 2;
    let verdict = evaluate(&config, &request(1), &state(2), &instances(2), &[], &OtherScalers::none(), NOW);
    assert_eq!(refusals(&verdict), vec![Refusal::BelowMinimum { requested: 1, min: 2 }]);
    assert_eq!(verdict.refusals()[0].to_string(), "capacity 1 is below the minimum of 2");
}

#[test]
fn refuses_above_maximum() {
    let verdict =
        evaluate(&config(), &request(11), &state(9), &instances(9), &[], &OtherScalers::none(), NOW);
    assert_eq!(refusals(&verdict), vec![Refusal::AboveMaximum { requested: 11, max: 10 }]);
}

#[test]
fn refuses_a_step_over_max_step() {
    let verdict = evaluate(&config(), &request(8), &state(4), &instances(4), &[], &OtherScalers::none(), NOW);
    assert_eq!(refusals(&verdict), vec![Refusal::StepTooLarge { from: 4, to: 8, max_step: 3 }]);
    assert!(verdict.refusals()[0].to_string().contains("step of 4"));
}

#[test]
fn refuses_within_cooldown_and_says_how_long_remains() {
    let history = [change(NOW - Duration::seconds(200))];
    let verdict =
        evaluate(&config(), &request(4), &state(3), &instances(3), &history, &OtherScalers::none(), NOW);
    assert_eq!(
        refusals(&verdict),
        vec![Refusal::InCooldown {
            last_change: NOW - Duration::seconds(200),
            remaining_secs: 400,
            by: Some("alice via scaleguard".into())
        }]
    );
    assert!(verdict.refusals()[0].to_string().contains("6m 40s"), "{}", verdict.refusals()[0]);
}

#[test]
fn cooldown_counts_the_scale_sets_own_last_change() {
    let mut state = state(3);
    state.last_changed = Some(NOW - Duration::seconds(30));
    let history = [change(NOW - Duration::hours(2))];
    let verdict =
        evaluate(&config(), &request(4), &state, &instances(3), &history, &OtherScalers::none(), NOW);
    assert!(matches!(refusals(&verdict)[..], [Refusal::InCooldown { remaining_secs: 570, .. }]));
}

#[test]
fn cooldown_ignores_other_scale_sets_and_ends_exactly_on_time() {
    let mut other = change(NOW);
    other.scale_set.name = "api".into();
    let history = [other, change(NOW - Duration::seconds(600))];
    let verdict =
        evaluate(&config(), &request(4), &state(3), &instances(3), &history, &OtherScalers::none(), NOW);
    assert!(verdict.is_allowed(), "{verdict:?}");
}

#[test]
fn refuses_a_missing_or_blank_reason_when_required() {
    for reason in ["", "   \t\n"] {
        let mut request = request(4);
        request.reason = reason.into();
        let verdict =
            evaluate(&config(), &request, &state(3), &instances(3), &[], &OtherScalers::none(), NOW);
        assert_eq!(refusals(&verdict), vec![Refusal::ReasonMissing]);
    }
}

#[test]
fn allows_a_blank_reason_when_not_required() {
    let mut config = config();
    config.require_reason = false;
    let mut request = request(4);
    request.reason = " ".into();
    assert!(
        evaluate(&config, &request, &state(3), &instances(3), &[], &OtherScalers::none(), NOW).is_allowed()
    );
}

#[test]
fn refuses_while_the_set_is_provisioning_unless_forced() {
    let mut state = state(3);
    state.provisioning_state = ProvisioningState::Updating;
    let verdict = evaluate(&config(), &request(4), &state, &instances(3), &[], &OtherScalers::none(), NOW);
    assert_eq!(
        refusals(&verdict),
        vec![Refusal::StillProvisioning { scale_set_state: "Updating".into(), unfinished_instances: 0 }]
    );
    let mut forced = request(4);
    forced.force = true;
    let verdict = evaluate(&config(), &forced, &state, &instances(3), &[], &OtherScalers::none(), NOW);
    assert!(matches!(verdict, Verdict::Allowed { forced: true, .. }));
}

#[test]
fn refuses_while_an_instance_is_still_creating() {
    let mut instances = instances(3);
    instances[2].provisioning_state = ProvisioningState::Creating;
    let verdict = evaluate(&config(), &request(4), &state(3), &instances, &[], &OtherScalers::none(), NOW);
    assert_eq!(
        refusals(&verdict),
        vec![Refusal::StillProvisioning { scale_set_state: "Succeeded".into(), unfinished_instances: 1 }]
    );
}

#[test]
fn force_does_not_bypass_the_limits() {
    let mut request = request(20);
    request.force = true;
    let verdict = evaluate(&config(), &request, &state(3), &instances(3), &[], &OtherScalers::none(), NOW);
    assert!(refusals(&verdict).contains(&Refusal::AboveMaximum { requested: 20, max: 10 }));
}

#[test]
fn refuses_a_scale_in_below_the_protected_count() {
    let instances = vec![instance(0, true), instance(1, true), instance(2, true), instance(3, false)];
    let verdict = evaluate(&config(), &request(2), &state(4), &instances, &[], &OtherScalers::none(), NOW);
    assert_eq!(refusals(&verdict), vec![Refusal::BelowProtected { requested: 2, protected: 3 }]);
}

#[test]
fn refuses_no_change() {
    let verdict = evaluate(&config(), &request(3), &state(3), &instances(3), &[], &OtherScalers::none(), NOW);
    assert_eq!(refusals(&verdict), vec![Refusal::NoChange { capacity: 3 }]);
}

#[test]
fn refuses_when_the_state_is_for_another_set_or_has_no_etag() {
    let mut other = state(3);
    other.key.name = "api".into();
    let verdict = evaluate(&config(), &request(4), &other, &instances(3), &[], &OtherScalers::none(), NOW);
    assert!(matches!(refusals(&verdict)[..], [Refusal::UnknownState { .. }]));

    let mut no_etag = state(3);
    no_etag.etag = None;
    let verdict = evaluate(&config(), &request(4), &no_etag, &instances(3), &[], &OtherScalers::none(), NOW);
    assert!(matches!(refusals(&verdict)[..], [Refusal::UnknownState { .. }]));
}

#[test]
fn lists_every_reason_not_just_the_first() {
    let mut state = state(5);
    state.provisioning_state = ProvisioningState::Creating;
    let mut request = request(15);
    request.reason = String::new();
    let history = [change(NOW - Duration::seconds(10))];
    let verdict = evaluate(&config(), &request, &state, &instances(5), &history, &OtherScalers::none(), NOW);
    let reasons = refusals(&verdict);
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    assert!(reasons.contains(&Refusal::AboveMaximum { requested: 15, max: 10 }));
    assert!(reasons.contains(&Refusal::StepTooLarge { from: 5, to: 15, max_step: 3 }));
    assert!(reasons.contains(&Refusal::ReasonMissing));
    assert!(reasons.iter().any(|r| matches!(r, Refusal::InCooldown { .. })));
    assert!(reasons.iter().any(|r| matches!(r, Refusal::StillProvisioning { .. })));
}

#[test]
fn victims_skip_protected_instances() {
    let instances = vec![instance(0, false), instance(1, false), instance(7, true), instance(4, false)];
    let ids: Vec<_> = scale_in_victims(&instances, 2).into_iter().map(|i| i.instance_id).collect();
    assert_eq!(ids, vec!["4", "1"]);
}

#[test]
fn victims_order_numerically_not_lexically() {
    let instances = vec![instance(9, false), instance(10, false), instance(2, false)];
    let ids: Vec<_> = scale_in_victims(&instances, 2).into_iter().map(|i| i.instance_id).collect();
    assert_eq!(ids, vec!["10"]);
}

#[test]
fn no_victims_on_scale_out() {
    assert!(scale_in_victims(&instances(3), 5).is_empty());
}

fn arb_instances() -> impl Strategy<Value = Vec<Instance>> {
    prop::collection::btree_map(0u64..40, (any::<bool>(), prop::bool::weighted(0.1)), 0..15).prop_map(|map| {
        map.into_iter()
            .map(|(id, (protected, creating))| {
                let mut instance = instance(id, protected);
                if creating {
                    instance.provisioning_state = ProvisioningState::Creating;
                }
                instance
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn allowed_changes_stay_within_every_limit(
        min in 0u32..6,
        span in 0u32..10,
        max_step in 0u32..5,
        cooldown_secs in 0u64..3600,
        current in 0u32..20,
        wanted in 0u32..20,
        ages in prop::collection::vec(-100i64..7200, 0..4),
        own_age in prop::option::of(0i64..7200),
        instances in arb_instances(),
        force in any::<bool>(),
        reason in prop::sample::select(vec!["", " ", "sale"]),
    ) {
        let config = GuardConfig { min_capacity: min, max_capacity: min + span, max_step, cooldown_secs, require_reason: true, autoscale: AutoscalePolicy::Refuse };
        let mut state = state(current);
        state.last_changed = own_age.map(|age| NOW - Duration::seconds(age));
        let history: Vec<_> = ages.iter().map(|age| change(NOW - Duration::seconds(*age))).collect();
        let request = ScaleRequest { scale_set: key(), new_capacity: wanted, reason: reason.into(), force };
        match evaluate(&config, &request, &state, &instances, &history, &OtherScalers::none(), NOW) {
            Verdict::Allowed { from, to, expected_victims, forced, .. } => {
                let provisioning = instances.iter().any(|i| !i.provisioning_state.is_final());
                prop_assert!(!provisioning || (force && forced));
                let protected: Vec<&str> = instances
                    .iter()
                    .filter(|i| i.is_protected())
                    .map(|i| i.instance_id.as_str())
                    .collect();
                prop_assert!(expected_victims.iter().all(|v| !protected.contains(&v.as_str())));
                prop_assert!((config.min_capacity..=config.max_capacity).contains(&to));
                prop_assert!(from.abs_diff(to) <= max_step);
                prop_assert!(from != to);
                prop_assert!(!reason.trim().is_empty());
                let last = history.iter().map(|c| c.at).chain(state.last_changed).max();
                if let Some(last) = last {
                    prop_assert!(NOW - last >= Duration::seconds(cooldown_secs as i64));
                }
            }
            Verdict::Refused { reasons } => prop_assert!(!reasons.is_empty()),
        }
    }

    #[test]
    fn victims_are_the_highest_unprotected_ids(instances in arb_instances(), new_capacity in 0u32..20) {
        let victims = scale_in_victims(&instances, new_capacity);
        prop_assert!(victims.iter().all(|v| !v.is_protected()));
        let unprotected: Vec<u64> =
            instances.iter().filter(|i| !i.is_protected()).filter_map(Instance::numeric_id).collect();
        let expected_len = instances.len().saturating_sub(new_capacity as usize).min(unprotected.len());
        prop_assert_eq!(victims.len(), expected_len);
        let lowest_victim = victims.iter().filter_map(Instance::numeric_id).min();
        if let Some(lowest) = lowest_victim {
            let kept_higher = unprotected.iter().any(|id| *id > lowest && !victims.iter().any(|v| v.numeric_id() == Some(*id)));
            prop_assert!(!kept_higher, "a higher unprotected id was kept");
        }
    }
}

/// The kind of a refusal, for comparing sets of reasons.
fn kind(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::BelowMinimum { .. } => "below-min",
        Refusal::AboveMaximum { .. } => "above-max",
        Refusal::StepTooLarge { .. } => "step",
        Refusal::InCooldown { .. } => "cooldown",
        Refusal::ReasonMissing => "reason",
        Refusal::StillProvisioning { .. } => "provisioning",
        Refusal::BelowProtected { .. } => "protected",
        Refusal::NoChange { .. } => "no-change",
        Refusal::UnknownState { .. } => "unknown",
        Refusal::CooldownUnknown { .. } => "cooldown-unknown",
        Refusal::AutoscaleWouldRevert { .. } => "autoscale",
        Refusal::AutoscaleUnknown { .. } => "autoscale-unknown",
        Refusal::HostsHaNodes { .. } => "hosts-ha-nodes",
        Refusal::OutsideGroupLimits { .. } => "group-limits",
    }
}

proptest! {
    /// Refusals are exactly the rules broken: each broken rule is named (never only the first),
    /// and no rule that holds is named.
    #[test]
    fn every_broken_rule_is_named_and_only_those(
        min in 0u32..6,
        span in 0u32..10,
        max_step in 1u32..5,
        cooldown_secs in 0u64..3600,
        current in 0u32..20,
        wanted in 0u32..20,
        ages in prop::collection::vec(-100i64..7200, 0..4),
        own_age in prop::option::of(0i64..7200),
        set_busy in prop::bool::weighted(0.2),
        instances in arb_instances(),
        force in any::<bool>(),
        reason in prop::sample::select(vec!["", " \t", "sale"]),
    ) {
        let config = GuardConfig { min_capacity: min, max_capacity: min + span, max_step, cooldown_secs, require_reason: true, autoscale: AutoscalePolicy::Refuse };
        let mut state = state(current);
        state.last_changed = own_age.map(|age| NOW - Duration::seconds(age));
        if set_busy {
            state.provisioning_state = ProvisioningState::Updating;
        }
        let history: Vec<_> = ages.iter().map(|age| change(NOW - Duration::seconds(*age))).collect();
        let request = ScaleRequest { scale_set: key(), new_capacity: wanted, reason: reason.into(), force };
        let verdict = evaluate(&config, &request, &state, &instances, &history, &OtherScalers::none(), NOW);

        let last = history.iter().map(|c| c.at).chain(state.last_changed).max();
        let provisioning = set_busy || instances.iter().any(|i| !i.provisioning_state.is_final());
        let protected = instances.iter().filter(|i| i.is_protected()).count();
        let mut expected = std::collections::BTreeSet::new();
        for (broken, name) in [
            (wanted < min, "below-min"),
            (wanted > min + span, "above-max"),
            (current == wanted, "no-change"),
            (current != wanted && current.abs_diff(wanted) > max_step, "step"),
            (last.is_some_and(|last| NOW - last < Duration::seconds(cooldown_secs as i64)), "cooldown"),
            (reason.trim().is_empty(), "reason"),
            (provisioning && !force, "provisioning"),
            (wanted < current && (wanted as usize) < protected, "protected"),
        ] {
            if broken {
                expected.insert(name);
            }
        }
        let named: std::collections::BTreeSet<_> = verdict.refusals().iter().map(kind).collect();
        prop_assert_eq!(verdict.refusals().len(), named.len(), "a reason is named twice");
        prop_assert_eq!(&named, &expected);
        prop_assert_eq!(verdict.is_allowed(), expected.is_empty());
    }
}
