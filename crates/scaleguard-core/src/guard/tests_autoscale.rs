//! The guard and the other scalers: Azure Autoscale's active profile and the Activity Log.

use super::*;
use crate::autoscale::CapacityRange;
use crate::model::{OrchestrationMode, PowerState, ProvisioningState};
use proptest::prelude::*;
use time::macros::datetime;
use time::Duration;

const NOW: OffsetDateTime = datetime!(2026-01-05 10:00 UTC);

fn key() -> ScaleSetKey {
    ScaleSetKey {
        provider: "azure".into(),
        subscription_id: "s".into(),
        resource_group: "rg".into(),
        name: "web".into(),
    }
}

fn config(policy: AutoscalePolicy) -> GuardConfig {
    GuardConfig { max_capacity: 20, max_step: 10, autoscale: policy, ..GuardConfig::default() }
}

fn state(capacity: u32) -> ScaleSetState {
    ScaleSetState {
        key: key(),
        location: None,
        capacity,
        provisioning_state: ProvisioningState::Succeeded,
        overprovision: false,
        orchestration_mode: OrchestrationMode::Uniform,
        scale_in_rules: vec![],
        etag: Some("\"1\"".into()),
        last_changed: None,
        layout: Default::default(),
        aws: None,
    }
}

fn instances(count: u32) -> Vec<Instance> {
    (0..count)
        .map(|id| Instance {
            scale_set: key().into(),
            instance_id: id.to_string(),
            vm_id: None,
            name: format!("web_{id}"),
            computer_name: None,
            guest_computer_name: None,
            provisioning_state: ProvisioningState::Succeeded,
            power_state: PowerState::Running,
            latest_model_applied: Some(true),
            protected_from_scale_in: Some(false),
            placement: Default::default(),
            aws: None,
        })
        .collect()
}

fn request(capacity: u32, force: bool) -> ScaleRequest {
    ScaleRequest { scale_set: key(), new_capacity: capacity, reason: "sale".into(), force }
}

fn on(minimum: u32, maximum: u32) -> OtherScalers {
    OtherScalers {
        autoscale: AutoscaleState::On {
            setting: "web-autoscale".into(),
            profile: "weekday".into(),
            range: CapacityRange { minimum, maximum, default: minimum },
            next_change: None,
        },
        changes: vec![],
        activity_log_failure: None,
    }
}

fn verdict(policy: AutoscalePolicy, to: u32, force: bool, others: &OtherScalers) -> Verdict {
    evaluate(&config(policy), &request(to, force), &state(4), &instances(4), &[], others, NOW)
}

#[test]
fn a_capacity_outside_the_active_profile_is_refused_naming_the_setting_and_the_range() {
    let out = verdict(AutoscalePolicy::Refuse, 8, false, &on(2, 6));
    assert_eq!(
        out.refusals(),
        &[Refusal::AutoscaleWouldRevert {
            setting: "web-autoscale".into(),
            profile: "weekday".into(),
            minimum: 2,
            maximum: 6,
            back_to: 6
        }]
    );
    assert_eq!(
        out.refusals()[0].to_string(),
        "Azure Autoscale setting web-autoscale would scale it back to 6 within about a minute: its profile \
         \"weekday\" allows 2..6; change the profile first (scaleguard autoscale), or set guard.autoscale = \"warn\""
    );
    let below = verdict(AutoscalePolicy::Refuse, 1, true, &on(2, 6));
    assert!(matches!(below.refusals(), [Refusal::AutoscaleWouldRevert { back_to: 2, .. }]), "{below:?}");
}

#[test]
fn inside_the_range_it_is_allowed_with_a_warning_that_the_rules_may_move_it() {
    let inside = verdict(AutoscalePolicy::Refuse, 6, false, &on(2, 6));
    assert!(inside.is_allowed(), "{inside:?}");
    assert_eq!(
        inside.warnings(),
        &["Azure Autoscale setting web-autoscale is on (profile \"weekday\", 2..6): its rules may still move the \
           capacity"
            .to_string()]
    );
}

#[test]
fn the_warn_policy_only_warns_and_no_or_a_disabled_setting_says_nothing() {
    let warned = verdict(AutoscalePolicy::Warn, 8, false, &on(2, 6));
    assert!(warned.is_allowed(), "{warned:?}");
    assert!(warned.warnings()[0]
        .starts_with("guard.autoscale = \"warn\": Azure Autoscale setting web-autoscale would"));
    let off =
        OtherScalers { autoscale: AutoscaleState::Disabled { setting: "web-autoscale".into() }, ..on(2, 6) };
    for others in [OtherScalers::none(), off] {
        let allowed = verdict(AutoscalePolicy::Refuse, 8, false, &others);
        assert!(allowed.is_allowed() && allowed.warnings().is_empty(), "{allowed:?}");
    }
}

#[test]
fn an_unknown_autoscale_state_is_refused_unless_forced() {
    let unknown = OtherScalers {
        autoscale: AutoscaleState::Unknown {
            why: "GET autoscale settings of rg: permission denied (403 Forbidden)".into(),
        },
        ..OtherScalers::none()
    };
    let refused = verdict(AutoscalePolicy::Refuse, 5, false, &unknown);
    assert_eq!(
        refused.refusals()[0].to_string(),
        "whether Azure Autoscale would undo this is unknown (GET autoscale settings of rg: permission denied (403 \
         Forbidden)); force it to go ahead"
    );
    let forced = verdict(AutoscalePolicy::Refuse, 5, true, &unknown);
    let Verdict::Allowed { forced: true, warnings, .. } = &forced else { panic!("{forced:?}") };
    assert!(warnings[0].starts_with("forced past an unknown Azure Autoscale state"), "{warnings:?}");
}

#[test]
fn an_unreadable_activity_log_makes_the_cooldown_unknown_and_refused_unless_forced() {
    let others = OtherScalers {
        activity_log_failure: Some("GET activity log: timeout".into()),
        ..OtherScalers::none()
    };
    let refused = verdict(AutoscalePolicy::Refuse, 5, false, &others);
    assert_eq!(refused.refusals(), &[Refusal::CooldownUnknown { why: "GET activity log: timeout".into() }]);
    assert!(refused.refusals()[0]
        .to_string()
        .starts_with("the cooldown is unknown: the Activity Log could not be read"));
    let forced = verdict(AutoscalePolicy::Refuse, 5, true, &others);
    assert!(matches!(&forced, Verdict::Allowed { forced: true, .. }), "{forced:?}");
}

#[test]
fn the_cooldown_names_who_changed_it_last() {
    let history = [
        ScaleChange {
            scale_set: key(),
            at: NOW - Duration::seconds(300),
            from: Some(4),
            to: Some(9),
            by: Some("ops@contoso.com via portal".into()),
        },
        ScaleChange {
            scale_set: key(),
            at: NOW - Duration::seconds(240),
            from: Some(9),
            to: Some(6),
            by: Some("autoscale (setting web-autoscale)".into()),
        },
        ScaleChange {
            scale_set: key(),
            at: NOW - Duration::hours(3),
            from: Some(3),
            to: Some(4),
            by: Some("bob via scaleguard".into()),
        },
    ];
    // The journal holds scaleguard's own change; the Activity Log the others'.
    let others = OtherScalers { changes: history[..2].to_vec(), ..OtherScalers::none() };
    let verdict = evaluate(
        &config(AutoscalePolicy::Refuse),
        &request(5, false),
        &state(4),
        &instances(4),
        &history[2..],
        &others,
        NOW,
    );
    assert_eq!(
        verdict.refusals()[0].to_string(),
        "the capacity last changed at 2026-01-05T09:56:00Z by autoscale (setting web-autoscale); the cooldown ends in 6m 0s"
    );
}

fn any_others() -> impl Strategy<Value = OtherScalers> {
    let autoscale = prop_oneof![
        Just(AutoscaleState::None),
        Just(AutoscaleState::Disabled { setting: "as".into() }),
        (0u32..10, 0u32..10).prop_map(|(a, b)| AutoscaleState::On {
            setting: "as".into(),
            profile: "p".into(),
            range: CapacityRange { minimum: a.min(b), maximum: a.max(b), default: a.min(b) },
            next_change: None,
        }),
        Just(AutoscaleState::Unknown { why: "403".into() }),
    ];
    (autoscale, proptest::option::of(Just("timeout".to_string()))).prop_map(
        |(autoscale, activity_log_failure)| OtherScalers { autoscale, changes: vec![], activity_log_failure },
    )
}

proptest! {
    /// With the default policy nothing the guard allows lies outside the active profile, and an
    /// unknown state or Activity Log is allowed only when forced (and then says so).
    #[test]
    fn allowed_changes_respect_the_active_autoscale_profile(
        others in any_others(),
        current in 0u32..10,
        wanted in 0u32..12,
        force in any::<bool>(),
        policy in prop_oneof![Just(AutoscalePolicy::Refuse), Just(AutoscalePolicy::Warn)],
    ) {
        let verdict = evaluate(&config(policy), &request(wanted, force), &state(current), &instances(current), &[], &others, NOW);
        let reverts = verdict.refusals().iter().any(|r| matches!(r, Refusal::AutoscaleWouldRevert { .. }));
        match (&others.autoscale, policy) {
            (AutoscaleState::On { range, .. }, AutoscalePolicy::Refuse) if current != wanted => {
                prop_assert_eq!(reverts, !range.contains(wanted));
            }
            _ => prop_assert!(!reverts),
        }
        if let Verdict::Allowed { forced, warnings, .. } = &verdict {
            let unknown = others.activity_log_failure.is_some()
                || (policy == AutoscalePolicy::Refuse && matches!(others.autoscale, AutoscaleState::Unknown { .. }));
            prop_assert!(!unknown || (force && *forced));
            if let AutoscaleState::On { range, .. } = &others.autoscale {
                prop_assert!(policy == AutoscalePolicy::Warn || range.contains(wanted));
                prop_assert!(!warnings.is_empty(), "Autoscale being on is always said");
            }
        }
    }
}
