//! The AWS side of a profile: `[profiles.P.aws]` (region, shared-config profile, endpoint) and
//! what a scale set with `provider = "aws"` may say. Credentials are never configured here: they
//! come from the AWS SDK's default chain (environment, shared profile, SSO, instance metadata).

use super::{check_url, problem, MatchBy, Problem, Profile, ScaleSetConfig};
use serde::{Deserialize, Serialize};

/// `[profiles.P.aws]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// The region of the profile's Auto Scaling groups ("eu-west-1").
    pub region: String,
    /// A profile of the shared AWS config files (`~/.aws/config`) to take credentials from;
    /// None: the default chain as the environment sets it.
    #[serde(default)]
    pub profile: Option<String>,
    /// Every AWS request goes here instead of the regional endpoints (the simulator, tests, a
    /// VPC endpoint). None: the public regional endpoints.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    #[serde(default = "super::default_timeout_secs")]
    pub timeout_secs: u64,
    /// `HonorCooldown` on SetDesiredCapacity: true lets AWS refuse a change during the group's
    /// cooldown (ScalingActivityInProgress), false (AWS's default) sets it at once. scaleguard's
    /// own guard cooldown applies either way.
    #[serde(default)]
    pub honor_cooldown: bool,
}

/// An Auto Scaling group name may be up to 255 characters ("CreateAutoScalingGroup",
/// Amazon EC2 Auto Scaling API Reference).
pub const GROUP_NAME: usize = 255;

impl ScaleSetConfig {
    pub fn is_aws(&self) -> bool {
        self.provider == "aws"
    }
}

impl MatchBy {
    /// The matches an AWS set may use.
    pub fn is_aws(self) -> bool {
        matches!(self, MatchBy::InstanceId | MatchBy::PrivateDnsName | MatchBy::NameTag)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MatchBy::ComputerName => "computer_name",
            MatchBy::InstanceName => "instance_name",
            MatchBy::InstanceId => "instance_id",
            MatchBy::PrivateDnsName => "private_dns_name",
            MatchBy::NameTag => "name_tag",
        }
    }
}

/// A region as AWS spells one: lower-case letters, digits and dashes ("eu-west-1", "us-gov-west-1").
fn is_region(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 32
        && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && value.contains('-')
}

/// The `aws` table's problems.
pub(super) fn validate_table(aws: &AwsConfig, at: &str, problems: &mut Vec<Problem>) {
    if !is_region(&aws.region) {
        problems.push(problem(
            &format!("{at}.aws.region"),
            "must be an AWS region such as \"eu-west-1\" (lower-case letters, digits and dashes)",
        ));
    }
    if let Some(name) = &aws.profile {
        let ok = !name.trim().is_empty() && name.len() <= 128 && !name.chars().any(|c| c.is_whitespace());
        if !ok {
            problems.push(problem(
                &format!("{at}.aws.profile"),
                "must name a profile of the shared AWS config file (no spaces, at most 128 characters)",
            ));
        }
    }
    if let Some(url) = &aws.endpoint_url {
        check_url(&format!("{at}.aws.endpoint_url"), url, problems);
    }
    if aws.timeout_secs == 0 {
        problems.push(problem(&format!("{at}.aws.timeout_secs"), "must be at least 1"));
    }
}

/// One `provider = "aws"` scale set's problems (`key` is `profiles.P.scale_sets[i]`).
pub(super) fn validate_set(profile: &Profile, set: &ScaleSetConfig, key: &str, problems: &mut Vec<Problem>) {
    if profile.aws.is_none() {
        problems.push(problem(
            &format!("{key}.provider"),
            "is \"aws\" but the profile has no [aws] table: add one with the group's region",
        ));
    }
    for (field, value) in [("subscription_id", &set.subscription_id), ("resource_group", &set.resource_group)]
    {
        if !value.is_empty() {
            problems.push(problem(
                &format!("{key}.{field}"),
                "is an Azure setting: an aws scale set is named by `name` (the Auto Scaling group) alone",
            ));
        }
    }
    if set.name.trim().is_empty() {
        problems.push(problem(&format!("{key}.name"), "must name the Auto Scaling group"));
    }
    if !set.match_by.is_aws() {
        problems.push(problem(
            &format!("{key}.match"),
            &format!(
                "`{}` is not a match for an aws scale set: use instance_id, private_dns_name or name_tag",
                set.match_by.as_str()
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigFile, MatchBy, EXAMPLE};
    use std::path::Path;

    const AWS_SET: &str = "\n[profiles.prod.aws]\nregion = \"eu-west-1\"\n\
        endpoint_url = \"http://127.0.0.1:9000\"\n\n[[profiles.prod.scale_sets]]\nprovider = \"aws\"\n\
        name = \"web-asg\"\nmatch = \"instance_id\"\n";

    fn with_aws(extra: &str) -> String {
        // The aws table and set go after the example's scale set, before [profiles.prod.guard].
        EXAMPLE.replacen("[profiles.prod.guard]", &format!("{extra}\n[profiles.prod.guard]"), 1)
    }

    fn problems(text: &str) -> Vec<(String, String)> {
        let config = ConfigFile::parse(text, Path::new("c.toml")).expect("parses");
        config.validate().into_iter().map(|p| (p.key, p.message)).collect()
    }

    #[test]
    fn an_aws_group_beside_an_azure_set_is_valid() {
        let text = with_aws(AWS_SET);
        assert_eq!(problems(&text), vec![]);
        let config = ConfigFile::parse(&text, Path::new("c.toml")).unwrap();
        let profile = config.profile(None).unwrap().1;
        let aws = profile.aws.as_ref().expect("the aws table");
        assert_eq!(aws.region, "eu-west-1");
        assert_eq!(aws.endpoint_url.as_deref(), Some("http://127.0.0.1:9000"));
        let set = &profile.scale_sets[1];
        assert!(set.is_aws());
        assert_eq!(set.match_by, MatchBy::InstanceId);
        assert_eq!(set.key().to_string(), "web-asg", "an aws group is named by its name alone");
    }

    #[test]
    fn an_aws_set_without_an_aws_table_names_the_provider_field() {
        let text = with_aws(&AWS_SET.replace(
            "[profiles.prod.aws]\nregion = \"eu-west-1\"\nendpoint_url = \"http://127.0.0.1:9000\"\n",
            "",
        ));
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "profiles.prod.scale_sets[1].provider");
        assert!(found[0].1.contains("no [aws] table"), "{found:?}");
    }

    #[test]
    fn a_match_of_the_other_provider_is_named() {
        let text = with_aws(&AWS_SET.replace("match = \"instance_id\"", "match = \"computer_name\""));
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "profiles.prod.scale_sets[1].match");
        assert!(found[0].1.contains("computer_name") && found[0].1.contains("name_tag"), "{found:?}");
        let text = EXAMPLE.replace("match = \"computer_name\"", "match = \"private_dns_name\"");
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "profiles.prod.scale_sets[0].match");
        assert!(found[0].1.contains("azure"), "{found:?}");
    }

    #[test]
    fn a_bad_region_endpoint_or_azure_field_is_named() {
        let text = with_aws(
            &AWS_SET
                .replace("region = \"eu-west-1\"", "region = \"Ireland\"")
                .replace("http://127.0.0.1:9000", "ftp://127.0.0.1")
                .replace("provider = \"aws\"\n", "provider = \"aws\"\nresource_group = \"rg\"\n"),
        );
        let keys: Vec<String> = problems(&text).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            vec![
                "profiles.prod.aws.region",
                "profiles.prod.aws.endpoint_url",
                "profiles.prod.scale_sets[1].resource_group",
            ]
        );
    }

    #[test]
    fn the_example_documents_an_aws_group_that_is_valid_uncommented() {
        let start = EXAMPLE.find("# [profiles.prod.aws]").expect("the example shows the aws table");
        let end = start + EXAMPLE[start..].find("# match = ").unwrap();
        let end = end + EXAMPLE[end..].find('\n').unwrap();
        let uncommented: String = EXAMPLE[start..end]
            .lines()
            .map(|l| l.trim_start_matches('#').trim_start())
            .collect::<Vec<_>>()
            .join("\n");
        let text = with_aws(&uncommented);
        assert_eq!(problems(&text), vec![]);
        let config = ConfigFile::parse(&text, Path::new("c.toml")).unwrap();
        let profile = config.profile(None).unwrap().1;
        assert_eq!(profile.aws.as_ref().unwrap().profile.as_deref(), Some("ops"));
        assert_eq!(profile.scale_sets[1].match_by, MatchBy::PrivateDnsName);
    }

    #[test]
    fn an_unknown_key_in_the_aws_table_is_refused_by_line() {
        let text = with_aws(
            &AWS_SET.replace("region = \"eu-west-1\"", "region = \"eu-west-1\"\nsecret_key = \"x\""),
        );
        let err = ConfigFile::parse(&text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("secret_key") && err.contains("[profiles.prod.aws]"), "{err}");
    }
}
