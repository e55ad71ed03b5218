//! `evaluate_change`, `apply_to_resource` and `same_content` over hand-made settings.
use super::*;
use crate::autoscale::parse_setting;

fn setting(enabled: bool) -> Setting {
    let resource = json!({
        "id": "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/autoscalesettings/as",
        "name": "as", "type": "Microsoft.Insights/autoscaleSettings", "location": "West Europe",
        "tags": {"team": "web"},
        "properties": {
            "enabled": enabled,
            "targetResourceUri": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web",
            "notifications": [{"operation": "Scale", "webhooks": []}],
            "profiles": [
                {"name": "default", "capacity": {"minimum": "2", "maximum": "6", "default": "3"},
                 "rules": [{"metricTrigger": {"metricName": "Percentage CPU"}, "scaleAction": {"direction": "Increase", "type": "ChangeCount", "value": "1", "cooldown": "PT5M"}}]}
            ]
        }
    });
    parse_setting(&resource).unwrap()
}

fn guard() -> GuardConfig {
    GuardConfig { min_capacity: 1, max_capacity: 10, max_step: 3, ..GuardConfig::default() }
}

fn change(minimum: Option<u32>, maximum: Option<u32>, default: Option<u32>) -> AutoscaleChange {
    AutoscaleChange { minimum, maximum, default, enabled: None, force: false }
}

fn refusals(verdict: ChangeVerdict) -> Vec<String> {
    match verdict {
        ChangeVerdict::Refused { reasons } => reasons.iter().map(ToString::to_string).collect(),
        allowed => panic!("allowed: {allowed:?}"),
    }
}

#[test]
fn raising_the_maximum_is_allowed_and_moves_nothing() {
    let verdict = evaluate_change(
        &guard(),
        &setting(true),
        &Ok(Some(0)),
        &change(None, Some(8), None),
        "sale",
        4,
        CooldownNow::default(),
    );
    let ChangeVerdict::Allowed { before, after, implied_move, forced, warnings } = verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!(before.capacity, Some(CapacityRange { minimum: 2, maximum: 6, default: 3 }));
    assert_eq!(after.capacity, Some(CapacityRange { minimum: 2, maximum: 8, default: 3 }));
    assert_eq!((implied_move, forced), (None, false));
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn every_reason_is_given_at_once() {
    let reasons = refusals(evaluate_change(
        &guard(),
        &setting(true),
        &Ok(Some(0)),
        &change(Some(9), Some(1200), Some(1)),
        " ",
        4,
        CooldownNow::default(),
    ));
    assert_eq!(
        reasons,
        vec![
            "a reason is required for an autoscale change",
            "maximum 1200 is above 1000, the most a scale set holds",
            "minimum 9, maximum 1200, default 1 is not a valid range: Azure needs minimum <= default <= maximum",
            "Autoscale would then move the capacity from 4 to 9 within about a minute, and changing from 4 to 9 is a step of 5, more than the allowed 3",
        ]
    );
    assert_eq!(
        refusals(evaluate_change(
            &guard(),
            &setting(true),
            &Ok(Some(0)),
            &change(None, Some(6), None),
            "r",
            4,
            CooldownNow::default()
        )),
        vec!["nothing would change: give a new minimum, maximum or default, or enable or disable it"]
    );
}

#[test]
fn a_lower_maximum_is_a_scale_in_by_autoscale_and_meets_the_guard_and_the_cooldown() {
    let cooldown = Refusal::InCooldown {
        last_change: time::macros::datetime!(2026-01-05 10:00 UTC),
        remaining_secs: 60,
        by: None,
    };
    let reasons = refusals(evaluate_change(
        &guard(),
        &setting(true),
        &Ok(Some(0)),
        &change(Some(1), Some(1), Some(1)),
        "r",
        5,
        CooldownNow { running: Some(cooldown), unknown: None },
    ));
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("from 5 to 1") && reasons[0].contains("step of 4"), "{reasons:?}");
    assert!(reasons[1].contains("cooldown ends in 1m 0s"), "{reasons:?}");
    // Disabled settings never move the capacity.
    let verdict = evaluate_change(
        &guard(),
        &setting(false),
        &Ok(Some(0)),
        &change(Some(1), Some(1), Some(1)),
        "r",
        5,
        CooldownNow::default(),
    );
    assert!(verdict.is_allowed(), "{verdict:?}");
}

#[test]
fn enabling_warns_of_the_move_it_starts_and_disabling_of_what_stops() {
    let enable = AutoscaleChange { enabled: Some(true), ..AutoscaleChange::default() };
    let ChangeVerdict::Allowed { implied_move, warnings, .. } =
        evaluate_change(&guard(), &setting(false), &Ok(Some(0)), &enable, "r", 8, CooldownNow::default())
    else {
        panic!()
    };
    assert_eq!(implied_move, Some((8, 6)));
    assert_eq!(warnings, vec!["Autoscale will move the capacity from 8 to 6 within about a minute"]);
    let disable = AutoscaleChange { enabled: Some(false), ..AutoscaleChange::default() };
    let ChangeVerdict::Allowed { warnings, .. } =
        evaluate_change(&guard(), &setting(true), &Ok(None), &disable, "r", 8, CooldownNow::default())
    else {
        panic!()
    };
    assert_eq!(warnings, vec!["Autoscale stops acting on the scale set until setting as is enabled again"]);
}

fn unknown_cooldown() -> CooldownNow {
    CooldownNow { running: None, unknown: Some("GET Activity Log: 500 Internal Server Error".into()) }
}

fn with_force(change: AutoscaleChange) -> AutoscaleChange {
    AutoscaleChange { force: true, ..change }
}

#[test]
fn a_move_by_autoscale_with_an_unknown_cooldown_is_refused_unless_forced() {
    let unknown = "Autoscale would then move the capacity from 5 to 4 within about a minute, and the cooldown is \
                   unknown: the Activity Log could not be read (GET Activity Log: 500 Internal Server Error), so a \
                   change by someone else may be seconds old; force it to go ahead";
    // A lower maximum: Autoscale scales in 5 -> 4.
    let lower = change(None, Some(4), None);
    let evaluate = |change: &AutoscaleChange, cooldown| {
        evaluate_change(&guard(), &setting(true), &Ok(Some(0)), change, "r", 5, cooldown)
    };
    assert_eq!(refusals(evaluate(&lower, unknown_cooldown())), vec![unknown]);
    let ChangeVerdict::Allowed { implied_move, forced, warnings, .. } =
        evaluate(&with_force(lower.clone()), unknown_cooldown())
    else {
        panic!("forced: allowed")
    };
    assert_eq!((implied_move, forced), (Some((5, 4)), true));
    assert_eq!(
        warnings,
        vec![
            "forced past an unknown cooldown: the Activity Log could not be read (GET Activity Log: 500 Internal \
             Server Error)",
            "Autoscale will move the capacity from 5 to 4 within about a minute",
        ]
    );
    // With the cooldown known to be over, force changes nothing.
    assert_eq!(
        evaluate(&lower, CooldownNow::default()),
        evaluate(&with_force(lower), CooldownNow::default())
    );
    // A higher minimum: Autoscale scales out 5 -> 6; enabling: it scales in 8 -> 6.
    let raise = change(Some(6), None, Some(6));
    let reasons = refusals(evaluate(&raise, unknown_cooldown()));
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].starts_with("Autoscale would then move the capacity from 5 to 6 within about a minute, and the cooldown is unknown"), "{reasons:?}");
    assert!(evaluate(&with_force(raise), unknown_cooldown()).is_allowed());
    let enable = AutoscaleChange { enabled: Some(true), ..AutoscaleChange::default() };
    let reasons = refusals(evaluate_change(
        &guard(),
        &setting(false),
        &Ok(Some(0)),
        &enable,
        "r",
        8,
        unknown_cooldown(),
    ));
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].starts_with("Autoscale would then move the capacity from 8 to 6 within about a minute, and the cooldown is unknown"), "{reasons:?}");
    let verdict = evaluate_change(
        &guard(),
        &setting(false),
        &Ok(Some(0)),
        &with_force(enable),
        "r",
        8,
        unknown_cooldown(),
    );
    assert!(
        matches!(verdict, ChangeVerdict::Allowed { implied_move: Some((8, 6)), forced: true, .. }),
        "{verdict:?}"
    );
}

#[test]
fn force_lifts_only_the_unknown_cooldown_not_a_running_one_nor_the_guard() {
    let running = Refusal::InCooldown {
        last_change: time::macros::datetime!(2026-01-05 10:00 UTC),
        remaining_secs: 60,
        by: None,
    };
    let both = CooldownNow { running: Some(running), ..unknown_cooldown() };
    let lower = change(None, Some(4), None);
    let evaluate = |change: &AutoscaleChange, capacity, cooldown| {
        refusals(evaluate_change(&guard(), &setting(true), &Ok(Some(0)), change, "r", capacity, cooldown))
    };
    let reasons = evaluate(&lower, 5, both.clone());
    assert_eq!(reasons.len(), 2, "every reason at once: {reasons:?}");
    assert!(
        reasons[0].contains("cooldown ends in 1m 0s") && reasons[1].contains("the cooldown is unknown"),
        "{reasons:?}"
    );
    let reasons = evaluate(&with_force(lower), 5, both);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("cooldown ends in 1m 0s"), "{reasons:?}");
    // Autoscale scales in 9 -> 4, a step of 5: forcing the unknown cooldown lifts nothing else.
    let reasons = evaluate(&with_force(change(None, Some(4), None)), 9, unknown_cooldown());
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("step of 5"), "{reasons:?}");
}

#[test]
fn a_change_that_moves_nothing_needs_no_cooldown_known() {
    let evaluate = |setting: &Setting, change: &AutoscaleChange, capacity| {
        evaluate_change(&guard(), setting, &Ok(Some(0)), change, "r", capacity, unknown_cooldown())
    };
    let disable = AutoscaleChange { enabled: Some(false), ..AutoscaleChange::default() };
    let enable = AutoscaleChange { enabled: Some(true), ..AutoscaleChange::default() };
    for (what, verdict) in [
        ("a higher maximum", evaluate(&setting(true), &change(None, Some(8), None), 4)),
        ("a range holding the capacity", evaluate(&setting(true), &change(Some(3), Some(4), Some(4)), 4)),
        ("turning it off", evaluate(&setting(true), &disable, 9)),
        ("turning it on inside the range", evaluate(&setting(false), &enable, 4)),
        ("an edit of a disabled setting", evaluate(&setting(false), &change(Some(1), Some(1), Some(1)), 5)),
    ] {
        let ChangeVerdict::Allowed { implied_move: None, forced: false, warnings, .. } = &verdict else {
            panic!("{what}: {verdict:?}")
        };
        assert!(!warnings.iter().any(|w| w.contains("cooldown")), "{what}: {warnings:?}");
    }
}

/// `setting(enabled)` with a second, recurring profile "weekday" (Mondays 08:00, 1..2) in time
/// zone `zone`.
fn setting_with_weekday_in(enabled: bool, zone: &str) -> Setting {
    let mut resource = setting(enabled).resource;
    resource["properties"]["profiles"].as_array_mut().unwrap().push(json!({
        "name": "weekday", "capacity": {"minimum": "1", "maximum": "2", "default": "2"}, "rules": [],
        "recurrence": {"frequency": "Week", "schedule": {"timeZone": zone, "days": ["Monday"], "hours": [8], "minutes": [0]}}
    }));
    parse_setting(&resource).unwrap()
}

fn enable(force: bool) -> AutoscaleChange {
    AutoscaleChange { enabled: Some(true), force, ..AutoscaleChange::default() }
}

const NOW: OffsetDateTime = time::macros::datetime!(2026-01-07 12:00 UTC);

#[test]
fn turning_it_on_with_an_unknown_active_profile_is_refused_naming_the_profile_and_its_zone() {
    let read = setting_with_weekday_in(false, "Mars Standard Time");
    let active = active_index(&read, NOW);
    assert!(active.is_err(), "{active:?}");
    let reasons =
        refusals(evaluate_change(&guard(), &read, &active, &enable(false), "r", 4, CooldownNow::default()));
    assert_eq!(
        reasons,
        vec![
            "turning autoscale setting as on lets it act with a profile that cannot be worked out (profile \
             \"weekday\" names time zone \"Mars Standard Time\", which is neither a Windows nor an IANA time \
             zone scaleguard knows): it may move the capacity, nobody can say how; force it to go ahead"
        ]
    );
    // No active profile at all (only fixed dates, none now): as unknown.
    let reasons = refusals(evaluate_change(
        &guard(),
        &setting(false),
        &Ok(None),
        &enable(false),
        "r",
        4,
        CooldownNow::default(),
    ));
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("no profile of autoscale setting as applies now"), "{reasons:?}");
    // A profile edit cannot say which profile to edit: refused, forced or not.
    for force in [false, true] {
        let edit = AutoscaleChange { maximum: Some(8), force, ..enable(force) };
        let reasons =
            refusals(evaluate_change(&guard(), &read, &active, &edit, "r", 4, CooldownNow::default()));
        assert!(
            reasons[0].starts_with(
                "which profile of autoscale setting as is active is unknown (profile \"weekday\""
            ),
            "{reasons:?}"
        );
    }
}

#[test]
fn a_forced_turn_on_with_an_unknown_active_profile_is_allowed_and_says_what_was_forced() {
    let read = setting_with_weekday_in(false, "Mars Standard Time");
    let verdict = evaluate_change(
        &guard(),
        &read,
        &active_index(&read, NOW),
        &enable(true),
        "r",
        4,
        CooldownNow::default(),
    );
    let ChangeVerdict::Allowed { before, after, implied_move, forced, warnings } = verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!((before.enabled, before.capacity, after.enabled, after.capacity), (false, None, true, None));
    assert_eq!((implied_move, forced), (None, true));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .starts_with("forced past an unknown active profile: profile \"weekday\" names time zone \"Mars"),
        "{warnings:?}"
    );
    // The rest of the guard still holds when forced.
    let reasons = refusals(evaluate_change(
        &guard(),
        &read,
        &active_index(&read, NOW),
        &enable(true),
        " ",
        4,
        CooldownNow::default(),
    ));
    assert_eq!(reasons, vec!["a reason is required for an autoscale change"]);
    // Whatever Autoscale then does may be a move at once: a running cooldown still refuses it,
    // forced or not; an unknown one is forced past, and says so.
    let running = Refusal::InCooldown {
        last_change: time::macros::datetime!(2026-01-05 10:00 UTC),
        remaining_secs: 60,
        by: None,
    };
    let in_cooldown = CooldownNow { running: Some(running), unknown: None };
    let reasons = refusals(evaluate_change(
        &guard(),
        &read,
        &active_index(&read, NOW),
        &enable(true),
        "r",
        4,
        in_cooldown,
    ));
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].starts_with("turning autoscale setting ") && reasons[0].contains("cooldown ends in 1m 0s"),
        "{reasons:?}"
    );
    let ChangeVerdict::Allowed { forced, warnings, .. } = evaluate_change(
        &guard(),
        &read,
        &active_index(&read, NOW),
        &enable(true),
        "r",
        4,
        unknown_cooldown(),
    ) else {
        panic!("an unknown cooldown is forced past")
    };
    assert!(
        forced && warnings.iter().any(|w| w.starts_with("forced past an unknown cooldown")),
        "{warnings:?}"
    );
}

#[test]
fn with_a_known_active_profile_force_changes_nothing_and_turning_it_off_needs_no_profile() {
    let read = setting_with_weekday_in(false, "Eastern Standard Time");
    let active = active_index(&read, NOW);
    assert_eq!(active, Ok(Some(1)), "a recurring profile runs from its start on: \"weekday\", 1..2");
    for capacity in [2, 4, 8] {
        let unforced =
            evaluate_change(&guard(), &read, &active, &enable(false), "r", capacity, CooldownNow::default());
        let forced =
            evaluate_change(&guard(), &read, &active, &enable(true), "r", capacity, CooldownNow::default());
        assert_eq!(unforced, forced, "capacity {capacity}");
    }
    let verdict = evaluate_change(&guard(), &read, &active, &enable(true), "r", 4, CooldownNow::default());
    assert!(
        matches!(verdict, ChangeVerdict::Allowed { implied_move: Some((4, 2)), forced: false, .. }),
        "{verdict:?}"
    );
    // Autoscale stops acting whatever profile is active: nothing to force.
    let unknown = setting_with_weekday_in(true, "Mars Standard Time");
    let disable = AutoscaleChange { enabled: Some(false), ..AutoscaleChange::default() };
    let verdict = evaluate_change(
        &guard(),
        &unknown,
        &active_index(&unknown, NOW),
        &disable,
        "r",
        4,
        CooldownNow::default(),
    );
    assert!(matches!(verdict, ChangeVerdict::Allowed { forced: false, .. }), "{verdict:?}");
}

#[test]
fn the_body_keeps_everything_but_the_changed_values_and_the_read_only_fields() {
    let read = setting(true);
    let after =
        ProfileValues { enabled: true, capacity: Some(CapacityRange { minimum: 2, maximum: 8, default: 3 }) };
    let body = apply_to_resource(&read.resource, Some(0), &after);
    assert_eq!(body.get("id"), None);
    assert_eq!(body["tags"], json!({"team": "web"}));
    assert_eq!(
        body["properties"]["profiles"][0]["capacity"],
        json!({"minimum": "2", "maximum": "8", "default": "3"})
    );
    assert_eq!(
        body["properties"]["profiles"][0]["rules"],
        read.resource["properties"]["profiles"][0]["rules"]
    );
    assert_eq!(body["properties"]["notifications"], read.resource["properties"]["notifications"]);
    assert!(!same_content(&read.resource, &body), "the capacity changed");
    let mut renamed = read.resource.clone();
    renamed["systemData"] = json!({"lastModifiedAt": "2026-01-05T10:00:00Z"});
    assert!(same_content(&read.resource, &renamed), "system data is not content");
}
