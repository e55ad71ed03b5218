//! The guard on an AWS Auto Scaling group: its own MinSize..MaxSize bound what a manual scale may
//! ask (AWS refuses a desired capacity outside them), and its DefaultCooldown lengthens the
//! guard's cooldown when it is the longer one.

use super::Refusal;
use crate::config::GuardConfig;
use crate::model::ScaleSetState;

/// The group's refusal of a desired capacity `to` outside MinSize..MaxSize.
pub(super) fn group_limits(state: &ScaleSetState, to: u32) -> Option<Refusal> {
    let group = state.aws.as_ref()?;
    (to < group.min_size || to > group.max_size).then_some(Refusal::OutsideGroupLimits {
        requested: to,
        min: group.min_size,
        max: group.max_size,
    })
}

/// The guard's configuration with the cooldown lengthened to the group's DefaultCooldown.
pub(super) fn with_group_cooldown(config: &GuardConfig, state: &ScaleSetState) -> GuardConfig {
    let mut config = config.clone();
    if let Some(group) = &state.aws {
        config.cooldown_secs = config.cooldown_secs.max(group.default_cooldown_secs);
    }
    config
}

#[cfg(test)]
mod tests {
    use super::super::{evaluate, OtherScalers, ScaleRequest};
    use super::*;
    use crate::model::{AwsGroup, Instance, ProvisioningState, ScaleChange, ScaleSetKey};
    use time::macros::datetime;
    use time::OffsetDateTime;

    const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    fn group_state(desired: u32) -> ScaleSetState {
        let key = ScaleSetKey {
            provider: "aws".into(),
            subscription_id: String::new(),
            resource_group: String::new(),
            name: "web-asg".into(),
        };
        ScaleSetState {
            key,
            location: Some("eu-west-1".into()),
            capacity: desired,
            provisioning_state: ProvisioningState::Succeeded,
            overprovision: false,
            orchestration_mode: crate::model::OrchestrationMode::Uniform,
            scale_in_rules: vec![],
            etag: Some(format!("desired={desired}")),
            last_changed: None,
            layout: Default::default(),
            aws: Some(Box::new(AwsGroup {
                min_size: 2,
                default_cooldown_secs: 900,
                ..crate::reconcile::testkit::aws_group(6, vec![])
            })),
        }
    }

    fn request(state: &ScaleSetState, to: u32) -> ScaleRequest {
        ScaleRequest { scale_set: state.key.clone(), new_capacity: to, reason: "sale".into(), force: false }
    }

    fn verdict(state: &ScaleSetState, to: u32, history: &[ScaleChange]) -> super::super::Verdict {
        let config = GuardConfig {
            min_capacity: 1,
            max_capacity: 20,
            max_step: 5,
            cooldown_secs: 600,
            ..GuardConfig::default()
        };
        let instances: Vec<Instance> = Vec::new();
        evaluate(&config, &request(state, to), state, &instances, history, &OtherScalers::none(), NOW)
    }

    #[test]
    fn the_groups_own_limits_bound_a_manual_scale() {
        let state = group_state(4);
        assert!(verdict(&state, 6, &[]).is_allowed());
        for to in [1, 7] {
            let refused = verdict(&state, to, &[]);
            let text: Vec<String> = refused.refusals().iter().map(ToString::to_string).collect();
            assert_eq!(refused.refusals().len(), 1, "{text:?}");
            assert!(text[0].contains("MinSize..MaxSize (2..6)"), "{text:?}");
        }
    }

    #[test]
    fn the_groups_default_cooldown_lengthens_the_guards() {
        let state = group_state(4);
        // 700 s ago: past the guard's 600 s, inside the group's 900 s.
        let change = ScaleChange {
            scale_set: state.key.clone(),
            at: NOW - time::Duration::seconds(700),
            from: Some(3),
            to: Some(4),
            by: Some("scaling policy cpu-target".into()),
        };
        let refused = verdict(&state, 5, std::slice::from_ref(&change));
        let text: Vec<String> = refused.refusals().iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|t| t.contains("cooldown ends in 3m 20s") && t.contains("cpu-target")),
            "{text:?}"
        );
        let mut azure = state.clone();
        azure.aws = None;
        azure.etag = Some("\"1\"".into());
        assert!(verdict(&azure, 5, &[change]).is_allowed(), "Azure keeps the guard's own cooldown");
    }
}
