//! `[profiles.P.nodes]` beyond the timings: which configured scale set hosts the HA nodes.

use super::{problem, Problem, Profile};
use crate::model::ScaleSetKey;

impl Profile {
    /// The configured scale set `nodes.scale_set` names (case-insensitive; `resource_group/name`
    /// tells apart two sets of one name). Ok(None) when no set hosts the nodes; Err is one
    /// sentence naming the key.
    pub fn nodes_scale_set(&self) -> Result<Option<ScaleSetKey>, String> {
        let Some(wanted) = self.nodes.scale_set.as_deref() else { return Ok(None) };
        let wanted = wanted.trim();
        let keys: Vec<ScaleSetKey> = self.scale_sets.iter().map(|s| s.key()).collect();
        let matches: Vec<&ScaleSetKey> = keys
            .iter()
            .filter(|k| k.name.eq_ignore_ascii_case(wanted) || k.to_string().eq_ignore_ascii_case(wanted))
            .collect();
        match matches[..] {
            [key] => Ok(Some(key.clone())),
            [] => {
                let configured: Vec<String> = keys.iter().map(|k| k.name.clone()).collect();
                let configured =
                    if configured.is_empty() { "none".to_string() } else { configured.join(", ") };
                Err(format!(
                    "nodes.scale_set names `{wanted}`, which is not one of the profile's scale sets (configured: {configured})"
                ))
            }
            _ => {
                let candidates: Vec<String> = matches.iter().map(|k| k.to_string()).collect();
                Err(format!(
                    "nodes.scale_set `{wanted}` names {} configured scale sets ({}): write it as resource_group/name",
                    candidates.len(),
                    candidates.join(", ")
                ))
            }
        }
    }

    /// Is `key` the scale set that hosts the HA nodes?
    pub fn hosts_nodes(&self, key: &ScaleSetKey) -> bool {
        self.nodes_scale_set().ok().flatten().is_some_and(|k| &k == key)
    }
}

pub(super) fn validate(profile: &Profile, at: &str, problems: &mut Vec<Problem>) {
    let key = format!("{at}.nodes.scale_set");
    if let Some(name) = &profile.nodes.scale_set {
        if name.trim().is_empty() {
            problems.push(problem(
                &key,
                "must not be empty: name one of the profile's scale sets, or leave it out",
            ));
            return;
        }
        if super::limits::over(
            &key,
            name,
            super::limits::SCALE_SET_NAME + super::limits::RESOURCE_GROUP + 1,
            problems,
        ) {
            return;
        }
        if let Err(sentence) = profile.nodes_scale_set() {
            let message = sentence.strip_prefix("nodes.scale_set ").unwrap_or(&sentence);
            problems.push(problem(&key, message));
        }
    }
    if profile.nodes.hook_deadline_secs == 0 {
        problems.push(problem(&format!("{at}.nodes.hook_deadline_secs"), "must be at least 1"));
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigFile, EXAMPLE};
    use std::path::Path;

    fn with_nodes(extra: &str) -> ConfigFile {
        let text = format!("{EXAMPLE}\n[profiles.prod.nodes]\noffline_after_secs = 300\ndrain_deadline_secs = 600\n{extra}\n");
        ConfigFile::parse(&text, Path::new("c.toml")).expect("parses")
    }

    #[test]
    fn the_nodes_scale_set_must_name_a_configured_set() {
        let config = with_nodes("scale_set = \"VMSS-WEB\"\nadmit_with_task_cap_zero = true");
        assert_eq!(config.validate(), vec![]);
        let (_, profile) = config.profile(None).unwrap();
        assert_eq!(profile.nodes_scale_set().unwrap().map(|k| k.name), Some("vmss-web".to_string()));
        assert!(profile.nodes.admit_with_task_cap_zero);

        let config = with_nodes("scale_set = \"vmss-octo\"");
        let problems = config.validate();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, "profiles.prod.nodes.scale_set");
        assert!(
            problems[0].message.contains("`vmss-octo`")
                && problems[0].message.contains("configured: vmss-web"),
            "one sentence naming what is configured: {}",
            problems[0].message
        );
    }

    #[test]
    fn without_a_nodes_scale_set_nothing_is_paired_and_admission_is_only_offered() {
        let config = ConfigFile::parse(EXAMPLE, Path::new("c.toml")).unwrap();
        let (_, profile) = config.profile(None).unwrap();
        assert_eq!(profile.nodes_scale_set(), Ok(None));
        assert!(!profile.nodes.admit_with_task_cap_zero);
    }
}
