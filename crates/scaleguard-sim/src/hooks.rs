//! Request hooks: apply a world event right before the next matching request is served.
//!
//! This is how a test makes "someone else" act between a client's read and its write (another
//! console or an autoscale rule changing capacity just before our PATCH), deterministically.

use super::scenario::EventAction;

/// Before the next request with `method` (any when None) whose path starts with `path_prefix`
/// (case-insensitive, like ARM paths), apply `action`. Fires once.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestHook {
    pub method: Option<String>,
    pub path_prefix: String,
    pub action: EventAction,
}

#[derive(Debug, Default)]
pub struct HookQueue {
    hooks: Vec<RequestHook>,
}

impl HookQueue {
    pub fn push(&mut self, hook: RequestHook) {
        self.hooks.push(hook);
    }

    /// The first hook matching this request, removed from the queue.
    pub fn take(&mut self, method: &str, path: &str) -> Option<EventAction> {
        let path = path.to_ascii_lowercase();
        let index = self.hooks.iter().position(|hook| {
            hook.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
                && path.starts_with(&hook.path_prefix.to_ascii_lowercase())
        })?;
        Some(self.hooks.remove(index).action)
    }

    pub fn pending(&self) -> usize {
        self.hooks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(method: Option<&str>, prefix: &str) -> RequestHook {
        RequestHook {
            method: method.map(str::to_string),
            path_prefix: prefix.into(),
            action: EventAction::SetCapacity { set: "vmss-web".into(), capacity: 7 },
        }
    }

    #[test]
    fn a_hook_fires_once_on_the_first_matching_method_and_path() {
        let mut queue = HookQueue::default();
        queue.push(hook(Some("PATCH"), "/subscriptions/S/resourceGroups/RG"));
        assert_eq!(queue.take("GET", "/subscriptions/s/resourcegroups/rg/x"), None);
        assert_eq!(queue.take("PATCH", "/subscriptions/other"), None);
        assert!(queue.take("patch", "/subscriptions/s/resourcegroups/rg/x").is_some());
        assert_eq!(queue.take("PATCH", "/subscriptions/s/resourcegroups/rg/x"), None);
        assert_eq!(queue.pending(), 0);
    }

    #[test]
    fn a_hook_without_a_method_matches_any() {
        let mut queue = HookQueue::default();
        queue.push(hook(None, "/api"));
        assert!(queue.take("DELETE", "/api/machines/1").is_some());
    }
}
