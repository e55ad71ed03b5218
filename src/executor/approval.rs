//! How much confirmation an approval needs (pure; the CLI and the console ask the same way).

use crate::model::{Action, PlannedAction};

/// What the operator must do before a set of actions runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// A plain yes (headless: `--yes`).
    Plain,
    /// Destructive and large, or deleting everything a scale set had: the operator types the
    /// number of deletes (headless: `--yes --confirm-count N`).
    TypedCount(usize),
}

/// Deleting more than `confirm_over` targets, or any delete that empties a scale set
/// (`requires_confirmation`), needs the count typed back.
pub fn confirmation_for(actions: &[PlannedAction], confirm_over: u32) -> Confirmation {
    let deletes: Vec<&Action> = actions.iter().map(|p| &p.action).filter(|a| a.is_destructive()).collect();
    let empties_a_set =
        deletes.iter().any(|a| matches!(a, Action::DeleteTarget { requires_confirmation: true, .. }));
    if deletes.len() > confirm_over as usize || empties_a_set {
        Confirmation::TypedCount(deletes.len())
    } else {
        Confirmation::Plain
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

    #[test]
    fn more_deletes_than_confirm_over_need_the_count_typed() {
        let three: Vec<_> = (1..=3).map(|i| delete(&format!("Machines-{i}"), false)).collect();
        assert_eq!(confirmation_for(&three, 3), Confirmation::Plain);
        assert_eq!(confirmation_for(&three, 2), Confirmation::TypedCount(3));
        assert_eq!(confirmation_for(&[], 0), Confirmation::Plain);
    }

    #[test]
    fn a_delete_that_empties_a_scale_set_always_needs_the_count() {
        let actions = vec![delete("Machines-1", true)];
        assert_eq!(confirmation_for(&actions, 10), Confirmation::TypedCount(1));
    }
}
