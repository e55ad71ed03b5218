//! How much confirmation a change needs: one pure rule for the console and the CLI.
//!
//! Anything that destroys VMs (a scale-in, a forced scale, an Autoscale change that scales in or
//! is forced past an unknown active profile or cooldown) or HA nodes (a delete, or a drain,
//! which ends in one), or deletes more than `confirm_over` targets (or every target of a set: one that
//! reports capacity 0, or a plan deleting them all), needs the typed confirmation: the name of what is destroyed, typed back
//! (the scale set's name for VMs and targets, the node's name for a node). Anything else needs a
//! plain yes. Headless, `--yes` stands for either, and a large target delete also needs
//! `--confirm-count N` with the number of deletes.

use crate::config::Profile;
use crate::model::{Action, PlannedAction};

/// A change an operator is about to confirm.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// Approved reconcile actions; `word` is [`confirm_word`] of the profile.
    Plan { actions: &'a [PlannedAction], confirm_over: u32, word: &'a str },
    /// A capacity change of the scale set named `scale_set`.
    Capacity { scale_set: &'a str, from: u32, to: u32, forced: bool },
    /// A change of the Azure Autoscale setting of `scale_set`: `implied_move` is the capacity
    /// move the new profile makes Autoscale do (from, to); `disables` turns the setting off;
    /// `forced` turns it on although its active profile (so what it does) is unknown.
    Autoscale { scale_set: &'a str, implied_move: Option<(u32, u32)>, disables: bool, forced: bool },
    /// A drain (it ends in the node's delete) or a delete of the node named `node`.
    RemoveNode { node: &'a str },
    /// Protection, undrain, task cap: nothing is destroyed.
    Other,
}

/// What the operator must do before a change runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// A plain yes (the console: the confirm button; headless: `--yes`).
    Plain,
    /// `word` typed back; `why` says what makes it dangerous.
    Typed { word: String, why: String },
}

impl Confirmation {
    pub fn word(&self) -> Option<&str> {
        match self {
            Confirmation::Plain => None,
            Confirmation::Typed { word, .. } => Some(word),
        }
    }
}

/// The word a plan's typed confirmation asks for: the scale set's name, or the profile's name
/// when the profile covers several sets.
pub fn confirm_word(profile_name: &str, profile: &Profile) -> String {
    match profile.scale_sets.as_slice() {
        [only] => only.name.clone(),
        _ => profile_name.to_string(),
    }
}

/// The targets a set of actions deletes.
pub fn delete_count(actions: &[PlannedAction]) -> usize {
    actions.iter().filter(|p| matches!(p.action, Action::DeleteTarget { .. })).count()
}

/// The one rule (see the module's documentation).
pub fn confirmation_for(change: Change<'_>) -> Confirmation {
    let typed = |word: &str, why: String| Confirmation::Typed { word: word.to_string(), why };
    match change {
        Change::Plan { actions, confirm_over, word } => {
            let deletes = delete_count(actions);
            let empties_a_set = actions
                .iter()
                .any(|p| matches!(p.action, Action::DeleteTarget { requires_confirmation: true, .. }));
            // An ABANDON of a launch has AWS terminate the instance: a VM destroyed.
            let abandons = actions
                .iter()
                .filter(|p| matches!(p.action, Action::CompleteLifecycle { .. }) && p.action.is_destructive())
                .count();
            if abandons > 0 {
                typed(word, format!("it abandons {abandons} launch(es): AWS terminates those instances"))
            } else if empties_a_set {
                typed(
                    word,
                    format!("it deletes {deletes} target(s), every target of a scale set (or of the scope)"),
                )
            } else if deletes > confirm_over as usize {
                typed(word, format!("it deletes {deletes} targets, more than confirm_over = {confirm_over}"))
            } else {
                Confirmation::Plain
            }
        }
        Change::Capacity { scale_set, from, to, .. } if to < from => {
            typed(scale_set, format!("scaling in from {from} to {to} deletes {} VM(s)", from - to))
        }
        Change::Capacity { scale_set, forced: true, .. } => {
            typed(scale_set, "it is forced past an unfinished provisioning".into())
        }
        Change::Capacity { .. } => Confirmation::Plain,
        Change::Autoscale { scale_set, implied_move: Some((from, to)), .. } if to < from => typed(
            scale_set,
            format!("Autoscale would scale in from {from} to {to}, deleting {} VM(s)", from - to),
        ),
        Change::Autoscale { scale_set, disables: true, .. } => typed(
            scale_set,
            "it turns Azure Autoscale off: nothing scales the set by load until it is on again".into(),
        ),
        Change::Autoscale { scale_set, forced: true, .. } => typed(
            scale_set,
            "it is forced past an unknown active profile or an unknown cooldown: Autoscale may then move the \
             capacity unchecked"
                .into(),
        ),
        Change::Autoscale { .. } => Confirmation::Plain,
        Change::RemoveNode { node } => typed(node, format!("it ends with {node} deleted from the cluster")),
        Change::Other => Confirmation::Plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delete(id: &str, requires_confirmation: bool) -> PlannedAction {
        PlannedAction {
            id: format!("delete-{id}"),
            action: Action::DeleteTarget {
                target_id: id.into(),
                target_name: id.into(),
                last_instance_id: None,
                absent_observations: 3,
                absent_secs: 600,
                requires_confirmation,
            },
            reason: String::new(),
            observations: vec![],
        }
    }

    fn plan(actions: &[PlannedAction], confirm_over: u32) -> Confirmation {
        confirmation_for(Change::Plan { actions, confirm_over, word: "vmss-web" })
    }

    #[test]
    fn more_deletes_than_confirm_over_need_the_name_typed() {
        let three: Vec<_> = (1..=3).map(|i| delete(&format!("Machines-{i}"), false)).collect();
        assert_eq!(plan(&three, 3), Confirmation::Plain);
        assert_eq!(plan(&three, 2).word(), Some("vmss-web"));
        assert_eq!(plan(&[], 0), Confirmation::Plain);
    }

    #[test]
    fn a_delete_that_empties_a_scale_set_always_needs_the_name() {
        assert_eq!(plan(&[delete("Machines-1", true)], 10).word(), Some("vmss-web"));
    }

    #[test]
    fn destroying_vms_or_nodes_needs_the_name_of_what_goes() {
        let scale =
            |from, to, forced| confirmation_for(Change::Capacity { scale_set: "vmss-web", from, to, forced });
        assert_eq!(scale(6, 3, false).word(), Some("vmss-web"), "a scale-in deletes VMs");
        assert_eq!(scale(3, 6, false), Confirmation::Plain, "a scale-out destroys nothing");
        assert_eq!(scale(3, 6, true).word(), Some("vmss-web"), "forcing is typed");
        let node = confirmation_for(Change::RemoveNode { node: "OCTO-NODE-2" });
        assert_eq!(node.word(), Some("OCTO-NODE-2"));
        assert_eq!(confirmation_for(Change::Other), Confirmation::Plain);
    }

    #[test]
    fn abandoning_a_launch_terminates_an_instance_and_needs_the_name() {
        use crate::model::{HookTransition, LifecycleResult, ScaleSetKey};
        let complete = |result, transition| PlannedAction {
            id: "complete-lifecycle:x".into(),
            action: Action::CompleteLifecycle {
                scale_set: ScaleSetKey {
                    provider: "aws".into(),
                    subscription_id: String::new(),
                    resource_group: String::new(),
                    name: "web-asg".into(),
                },
                instance_id: "i-0abc".into(),
                hook: "ready".into(),
                transition,
                result,
                target_names: vec![],
            },
            reason: String::new(),
            observations: vec![],
        };
        let abandon = plan(&[complete(LifecycleResult::Abandon, HookTransition::Launching)], 10);
        assert_eq!(abandon.word(), Some("vmss-web"), "{abandon:?}");
        assert!(
            matches!(&abandon, Confirmation::Typed { why, .. } if why.contains("terminates")),
            "{abandon:?}"
        );
        let continued = plan(&[complete(LifecycleResult::Continue, HookTransition::Launching)], 10);
        assert_eq!(continued, Confirmation::Plain);
        let terminating = plan(&[complete(LifecycleResult::Continue, HookTransition::Terminating)], 10);
        assert_eq!(terminating, Confirmation::Plain, "the instance was going anyway");
    }

    #[test]
    fn an_autoscale_change_that_scales_in_turns_it_off_or_is_forced_needs_the_name() {
        let autoscale = |implied_move, disables, forced| {
            confirmation_for(Change::Autoscale { scale_set: "vmss-web", implied_move, disables, forced })
        };
        assert_eq!(autoscale(Some((6, 4)), false, false).word(), Some("vmss-web"), "Autoscale deletes 2 VMs");
        assert_eq!(autoscale(None, true, false).word(), Some("vmss-web"), "turning it off");
        assert_eq!(
            autoscale(Some((4, 6)), false, false),
            Confirmation::Plain,
            "a scale-out destroys nothing"
        );
        assert_eq!(autoscale(None, false, false), Confirmation::Plain);
        let forced = autoscale(None, false, true);
        assert_eq!(forced.word(), Some("vmss-web"), "turning it on with an unknown active profile");
        assert!(
            matches!(&forced, Confirmation::Typed { why, .. } if why.contains("unknown active profile")),
            "{forced:?}"
        );
    }
}
