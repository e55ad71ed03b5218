//! Upper bounds on the config's strings. A value far longer than anything real (a megabyte
//! pasted into `name`) is a mistake, and every error that names it would print it: it is refused
//! here, by key and limit, before any other check can echo it or any request can carry it.

use super::{problem, Problem, Profile};

/// Azure's limit for virtual machine scale set names ("Naming rules and restrictions for Azure
/// resources", Microsoft.Compute).
pub const SCALE_SET_NAME: usize = 64;
/// Azure's limit for resource group names (same page, Microsoft.Resources).
pub const RESOURCE_GROUP: usize = 90;
/// A GUID is 36 characters; room for braces.
pub const SUBSCRIPTION_ID: usize = 38;
/// Profile names become file names (`history-<profile>.json`).
pub const PROFILE_NAME: usize = 64;
/// URLs: the common practical limit.
pub const URL: usize = 2048;
/// Environment variable names, provider names: short identifiers.
pub const IDENTIFIER: usize = 128;
/// Octopus names (space, environment, project, role, node): far beyond any real one.
pub const OCTOPUS_NAME: usize = 200;

/// `key` is over `max` characters: one problem naming both. True when it was.
pub fn over(key: &str, value: &str, max: usize, problems: &mut Vec<Problem>) -> bool {
    let length = value.chars().count();
    if length <= max {
        return false;
    }
    problems.push(problem(key, &format!("is {length} characters long; the limit is {max}")));
    true
}

/// A key path safe to print even when `name` (a table key) is huge.
pub fn shown_name(name: &str) -> String {
    if name.chars().count() <= PROFILE_NAME {
        name.to_string()
    } else {
        format!("{}…", name.chars().take(16).collect::<String>())
    }
}

/// Every over-long string of `profile` (at `at`, e.g. `profiles.prod`). True when any was: the
/// other checks then do not run, since their messages quote values.
pub fn profile_over(profile: &Profile, at: &str, problems: &mut Vec<Problem>) -> bool {
    let before = problems.len();
    let o = &profile.octopus;
    over(&format!("{at}.octopus.url"), &o.url, URL, problems);
    over(&format!("{at}.octopus.api_key_env"), &o.api_key_env, IDENTIFIER, problems);
    over(&format!("{at}.octopus.space"), &o.space, OCTOPUS_NAME, problems);
    over(&format!("{at}.octopus.environment"), &o.environment, OCTOPUS_NAME, problems);
    for (list, values) in [("roles", &o.roles), ("projects", &o.projects)] {
        for (i, value) in values.iter().enumerate() {
            over(&format!("{at}.octopus.{list}[{i}]"), value, OCTOPUS_NAME, problems);
        }
    }
    if let Some(aws) = &profile.aws {
        over(&format!("{at}.aws.region"), &aws.region, IDENTIFIER, problems);
        if let Some(name) = &aws.profile {
            over(&format!("{at}.aws.profile"), name, IDENTIFIER, problems);
        }
        if let Some(url) = &aws.endpoint_url {
            over(&format!("{at}.aws.endpoint_url"), url, URL, problems);
        }
    }
    let a = &profile.azure;
    over(&format!("{at}.azure.arm_url"), &a.arm_url, URL, problems);
    if let Some(token_env) = &a.token_env {
        over(&format!("{at}.azure.token_env"), token_env, IDENTIFIER, problems);
    }
    for (i, set) in profile.scale_sets.iter().enumerate() {
        let key = format!("{at}.scale_sets[{i}]");
        over(&format!("{key}.provider"), &set.provider, IDENTIFIER, problems);
        over(&format!("{key}.subscription_id"), &set.subscription_id, SUBSCRIPTION_ID, problems);
        over(&format!("{key}.resource_group"), &set.resource_group, RESOURCE_GROUP, problems);
        let name_limit = if set.is_aws() { super::aws::GROUP_NAME } else { SCALE_SET_NAME };
        over(&format!("{key}.name"), &set.name, name_limit, problems);
    }
    for (i, node) in profile.nodes.verified.iter().enumerate() {
        over(&format!("{at}.nodes.verified[{i}]"), node, OCTOPUS_NAME, problems);
    }
    problems.len() > before
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigFile, EXAMPLE};
    use std::path::Path;

    fn example() -> ConfigFile {
        ConfigFile::parse(EXAMPLE, Path::new("example.toml")).unwrap()
    }

    #[test]
    fn a_megabyte_name_is_one_short_problem_naming_the_key_and_the_limit() {
        let mut config = example();
        let (name, profile) = config.profiles.iter_mut().next().unwrap();
        let name = name.clone();
        profile.scale_sets[0].name = "w".repeat(1 << 20);
        let problems = config.validate();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, format!("profiles.{name}.scale_sets[0].name"));
        assert_eq!(problems[0].message, "is 1048576 characters long; the limit is 64");
    }

    #[test]
    fn a_huge_profile_name_is_shortened_wherever_it_is_named() {
        let mut config = example();
        let profile = config.profiles.values().next().unwrap().clone();
        let huge = "p".repeat(100_000);
        config.profiles.insert(huge.clone(), profile);
        config.default_profile = Some(huge);
        let shown = format!("{:?}", config.validate());
        assert!(shown.len() < 1_000, "{} bytes", shown.len());
        assert!(shown.contains("default_profile") && shown.contains("the limit is 64"), "{shown}");
    }

    #[test]
    fn names_at_the_limit_pass() {
        let mut config = example();
        let profile = config.profiles.values_mut().next().unwrap();
        profile.scale_sets[0].name = "w".repeat(super::SCALE_SET_NAME);
        profile.scale_sets[0].resource_group = "r".repeat(super::RESOURCE_GROUP);
        assert_eq!(config.validate(), vec![]);
    }
}
