//! Configuration: TOML profiles. The schema is a contract with users: extend it, never rename.
//!
//! Parsing rejects unknown keys (with the key and its line, from the TOML parser); `validate`
//! then reports every semantic problem with its key path, so `config check` can list them all.

mod aws;
mod limits;
mod nodes;
mod secret_env;

pub use aws::AwsConfig;
pub use secret_env::read_secret_env;

use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The default ARM endpoint (public cloud).
pub const DEFAULT_ARM_URL: &str = "https://management.azure.com";

#[derive(Debug, Error)]
pub enum ConfigError {
    /// The cause is in the message, not `source()`: a chain printer would say it twice.
    #[error("cannot read config file {path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {count} problem(s):\n{list}", count = problems.len(), list = format_problems(problems))]
    Invalid { path: PathBuf, problems: Vec<Problem> },
    #[error("profile `{0}` is not defined in the config file (defined: {1})")]
    UnknownProfile(String, String),
    #[error("no profile chosen: pass --profile NAME or set default_profile (defined: {0})")]
    NoProfile(String),
    #[error("environment variable {var} (named by {key}) is not set or empty")]
    MissingSecret { var: String, key: String },
    #[error("environment variable {var} (named by {key}) contains {what}; a key or token is printable ASCII without spaces: check how the variable is set")]
    MalformedSecret { var: String, key: String, what: String },
    #[error("no config file at {0}: run `scaleguard config init` to write an example, or pass --config")]
    NotFound(PathBuf),
}

/// One semantic problem, named by its key path (`profiles.prod.guard.max_step`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

fn format_problems(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  - {}: {}", p.key, p.message)).collect::<Vec<_>>().join("\n")
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub default_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub read_only: bool,
    pub octopus: OctopusConfig,
    #[serde(default)]
    pub azure: AzureConfig,
    /// `[profiles.P.aws]`: needed by scale sets with `provider = "aws"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsConfig>,
    #[serde(default)]
    pub scale_sets: Vec<ScaleSetConfig>,
    #[serde(default)]
    pub guard: GuardConfig,
    #[serde(default)]
    pub reconcile: ReconcileConfig,
    #[serde(default)]
    pub nodes: NodesConfig,
    #[serde(default)]
    pub console: ConsoleConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OctopusConfig {
    pub url: String,
    /// Name of the environment variable holding the API key; never the key itself.
    pub api_key_env: String,
    #[serde(default = "default_space")]
    pub space: String,
    pub environment: String,
    /// Newer Octopus servers call roles "target tags": `target_tags` is accepted as an alias
    /// (one or the other, not both).
    #[serde(default, alias = "target_tags")]
    pub roles: Vec<String>,
    #[serde(default)]
    pub projects: Vec<String>,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_space() -> String {
    "Default".into()
}
fn default_timeout_secs() -> u64 {
    30
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// DefaultAzureCredential chain: environment, managed identity, Azure CLI.
    #[default]
    Default,
    Cli,
    /// AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET.
    ClientSecret,
    /// A bearer token read from the env var named by `token_env`.
    TokenEnv,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AzureConfig {
    #[serde(default = "default_arm_url")]
    pub arm_url: String,
    #[serde(default)]
    pub credential: CredentialKind,
    pub token_env: Option<String>,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// How long a long-running operation (capacity change, instance delete) may take.
    #[serde(default = "default_lro_deadline_secs")]
    pub lro_deadline_secs: u64,
}

fn default_arm_url() -> String {
    DEFAULT_ARM_URL.into()
}
fn default_lro_deadline_secs() -> u64 {
    600
}

impl Default for AzureConfig {
    fn default() -> Self {
        Self {
            arm_url: default_arm_url(),
            credential: CredentialKind::Default,
            token_env: None,
            timeout_secs: default_timeout_secs(),
            lro_deadline_secs: default_lro_deadline_secs(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum MatchBy {
    /// Target name == VM computer name (case-insensitive, DNS suffix ignored).
    #[default]
    ComputerName,
    /// Target name == VM name (`{set}_{instanceId}`).
    InstanceName,
    /// AWS: target name == the EC2 instance id (`i-0abc…`).
    InstanceId,
    /// AWS: target name == the instance's private DNS name (`ip-10-0-1-5.eu-west-1.compute.internal`,
    /// compared without its DNS suffix, as the guest's hostname is).
    PrivateDnsName,
    /// AWS: target name == the instance's `Name` tag.
    NameTag,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScaleSetConfig {
    #[serde(default = "default_provider")]
    pub provider: String,
    /// Azure only (an aws set leaves it out).
    #[serde(default)]
    pub subscription_id: String,
    /// Azure only (an aws set leaves it out).
    #[serde(default)]
    pub resource_group: String,
    pub name: String,
    #[serde(rename = "match", default)]
    pub match_by: MatchBy,
}

fn default_provider() -> String {
    "azure".into()
}

impl ScaleSetConfig {
    pub fn key(&self) -> crate::model::ScaleSetKey {
        crate::model::ScaleSetKey {
            provider: self.provider.clone(),
            subscription_id: self.subscription_id.clone(),
            resource_group: self.resource_group.clone(),
            name: self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GuardConfig {
    pub min_capacity: u32,
    pub max_capacity: u32,
    pub max_step: u32,
    pub cooldown_secs: u64,
    pub require_reason: bool,
    /// A manual capacity outside the active Azure Autoscale profile's range: refused (Autoscale
    /// would scale it back within about a minute) or only warned about.
    #[serde(default)]
    pub autoscale: AutoscalePolicy,
}

/// `guard.autoscale`: what a manual capacity outside the active Autoscale profile gets.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum AutoscalePolicy {
    #[default]
    Refuse,
    Warn,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            min_capacity: 1,
            max_capacity: 10,
            max_step: 3,
            cooldown_secs: 600,
            require_reason: true,
            autoscale: AutoscalePolicy::Refuse,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReconcileConfig {
    /// A target's VM must be absent from this many consecutive complete listings...
    pub absent_observations: u32,
    /// ...spanning at least this long, before the target may be deleted.
    pub absent_grace_secs: u64,
    pub provisioning_timeout_secs: u64,
    /// Approving more than this many destructive actions needs a typed confirmation.
    pub confirm_over: u32,
    /// A VM without a registered target for this long is reported (tentacle never registered).
    #[serde(default = "default_unregistered_after_secs")]
    pub unregistered_after_secs: u64,
}

fn default_unregistered_after_secs() -> u64 {
    600
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        Self {
            absent_observations: 3,
            absent_grace_secs: 300,
            provisioning_timeout_secs: 900,
            confirm_over: 3,
            unregistered_after_secs: default_unregistered_after_secs(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodesConfig {
    /// A node not seen for longer than this is offline (Octopus uses 5 minutes).
    pub offline_after_secs: u64,
    /// A drain waiting longer than this asks the operator what to do.
    pub drain_deadline_secs: u64,
    /// Nodes an operator verified (added with task cap 0, then raised): `doctor` flags any other
    /// node that takes tasks.
    #[serde(default)]
    pub verified: Vec<String>,
    /// The configured scale set whose VMs host the HA nodes (its `name`, or
    /// `resource_group/name`): each node is paired with the VM whose computer name it carries,
    /// and a scale-in of that set drains the chosen nodes first (see `nodes` below).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_set: Option<String>,
    /// A node that appears while the console watches gets task cap 0 (journaled) until an
    /// operator verifies it with `node admit`; without it the console only offers to.
    #[serde(default)]
    pub admit_with_task_cap_zero: bool,
    /// Provider-driven scale-in (an AWS terminating lifecycle hook): how long a drain may hold an
    /// instance by heartbeats before the hook is completed anyway (its tasks are then cancelled
    /// once the node is offline).
    #[serde(default = "default_hook_deadline_secs")]
    pub hook_deadline_secs: u64,
}

fn default_hook_deadline_secs() -> u64 {
    3600
}

impl Default for NodesConfig {
    fn default() -> Self {
        Self {
            offline_after_secs: 300,
            drain_deadline_secs: 1800,
            verified: Vec::new(),
            scale_set: None,
            admit_with_task_cap_zero: false,
            hook_deadline_secs: default_hook_deadline_secs(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Seconds between background refreshes.
    pub refresh_secs: u64,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self { refresh_secs: 5 }
    }
}

/// Where the config file is: `--config`, `$SCALEGUARD_CONFIG`, or the platform config dir.
pub fn default_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.config_dir().join("scaleguard").join("config.toml"))
}

impl ConfigFile {
    /// Parse TOML text; unknown keys are rejected with their name and line.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str::<ConfigFile>(text).map_err(|err| ConfigError::Parse {
            path: path.to_path_buf(),
            message: describe_parse_error(text, &err),
        })
    }

    /// Read, parse and validate a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|cause| {
            if cause.kind() == std::io::ErrorKind::NotFound {
                ConfigError::NotFound(path.to_path_buf())
            } else {
                ConfigError::Read { path: path.to_path_buf(), cause }
            }
        })?;
        let config = Self::parse(&text, path)?;
        let problems = config.validate();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid { path: path.to_path_buf(), problems })
        }
    }

    /// The profile named by `--profile`, else `default_profile`, else the only one.
    pub fn profile(&self, name: Option<&str>) -> Result<(String, &Profile), ConfigError> {
        let defined = || self.profiles.keys().cloned().collect::<Vec<_>>().join(", ");
        let chosen = match name.or(self.default_profile.as_deref()) {
            Some(name) => name.to_string(),
            None if self.profiles.len() == 1 => self.profiles.keys().next().cloned().unwrap_or_default(),
            None => return Err(ConfigError::NoProfile(defined())),
        };
        match self.profiles.get(&chosen) {
            Some(profile) => Ok((chosen, profile)),
            None => Err(ConfigError::UnknownProfile(chosen, defined())),
        }
    }

    /// Every semantic problem, each with its key path. Empty means valid.
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.profiles.is_empty() {
            problems.push(problem("profiles", "no profile is defined; add a [profiles.NAME] table"));
        }
        if let Some(default) = &self.default_profile {
            let too_long = limits::over("default_profile", default, limits::PROFILE_NAME, &mut problems);
            if !too_long && !self.profiles.contains_key(default) {
                problems.push(problem(
                    "default_profile",
                    &format!("names profile `{default}`, which is not defined"),
                ));
            }
        }
        for (name, profile) in &self.profiles {
            let at = format!("profiles.{}", limits::shown_name(name));
            if limits::over(&at, name, limits::PROFILE_NAME, &mut problems) {
                continue;
            }
            profile.validate(&at, &mut problems);
        }
        problems
    }
}

fn problem(key: &str, message: &str) -> Problem {
    Problem { key: key.to_string(), message: message.to_string() }
}

/// The TOML parser's message already names the key and line; add advice for a literal secret.
fn describe_parse_error(text: &str, err: &toml::de::Error) -> String {
    let mut message = err.message().to_string();
    if message.contains("duplicate field `roles`") {
        message = "`roles` and `target_tags` are the same setting (target tags are the new name for roles): \
                   give one of them, not both"
            .into();
    }
    if let Some(span) = err.span() {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        // Name the table and key too: serde's message alone ("invalid type") does not. Whole lines
        // only: an unknown table's span starts inside its own header (`[profiles.p.` + `aws]`).
        let table = text
            .lines()
            .take(line)
            .map(str::trim)
            .filter(|l| l.starts_with('['))
            .last()
            .unwrap_or("top level");
        let key = text
            .lines()
            .nth(line - 1)
            .and_then(|l| l.split_once('='))
            .map(|(key, _)| key.trim())
            .unwrap_or("");
        if let Some(line_text) = text.lines().nth(line - 1) {
            message = hide_quoted_values(message, line_text);
        }

        message = if key.is_empty() {
            format!("line {line} (in {table}): {message}")
        } else {
            format!("line {line} (in {table}, key `{key}`): {message}")
        };
        // A key pasted into a key's name is echoed unquoted ("unknown field `…`", the key path).
        message = hide_api_keys(&message);
    }
    if message.contains("unknown field `api_key`") || message.contains("unknown field `token`") {
        message.push_str(
            "\n  secrets never go in the config file: put the key in an environment variable \
             and name that variable with `api_key_env` (or `token_env`)",
        );
    }
    message
}

/// serde quotes the offending value ("invalid type: string \"…\", expected u64"); a long string on
/// the failing line may be a key or token pasted into the wrong field, so it is not echoed
/// (invariant 6). Short ones (`match = "hostname"`) stay: they help and are no secret.
fn hide_quoted_values(message: String, line_text: &str) -> String {
    let Some((_, value)) = line_text.split_once('=') else { return message };
    let mut message = message;
    for (index, part) in value.split(['"', '\'']).enumerate() {
        // Odd parts sit between quotes.
        let secret_like = part.len() >= 16 || looks_like_api_key(part);
        if index % 2 == 1 && secret_like && message.contains(part) {
            message = message.replace(part, "<hidden>");
        }
    }
    message
}

/// Every `API-` followed by 8 or more letters and digits (an Octopus API key, wherever it sits,
/// even inside a word) as `<hidden>`.
fn hide_api_keys(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.to_ascii_uppercase().find("API-") {
        let tail = &rest[at + 4..];
        let run = tail.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(tail.len());
        out.push_str(&rest[..at]);
        if run >= 8 {
            out.push_str("<hidden>");
        } else {
            out.push_str(&rest[at..at + 4 + run]);
        }
        rest = &tail[run..];
    }
    out.push_str(rest);
    out
}

/// Octopus API keys look like `API-` followed by letters and digits.
fn looks_like_api_key(value: &str) -> bool {
    value.len() > 8 && value.to_ascii_uppercase().starts_with("API-")
}

fn is_env_var_name(value: &str) -> bool {
    !value.is_empty()
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !value.starts_with(|c: char| c.is_ascii_digit())
}

impl Profile {
    fn validate(&self, at: &str, problems: &mut Vec<Problem>) {
        if limits::profile_over(self, at, problems) {
            return;
        }
        let o = &self.octopus;
        check_url(&format!("{at}.octopus.url"), &o.url, problems);
        if looks_like_api_key(&o.api_key_env) {
            problems.push(problem(
                &format!("{at}.octopus.api_key_env"),
                "holds what looks like an API key; it must name the environment variable that holds the key \
                 (e.g. OCTOPUS_API_KEY), so the key never sits in a file",
            ));
        } else if !is_env_var_name(&o.api_key_env) {
            problems.push(problem(
                &format!("{at}.octopus.api_key_env"),
                "must be an environment variable name (letters, digits, underscore)",
            ));
        }
        for (key, value) in [("space", &o.space), ("environment", &o.environment)] {
            if value.trim().is_empty() {
                problems.push(problem(&format!("{at}.octopus.{key}"), "must not be empty"));
            }
        }
        if o.roles.is_empty() {
            problems.push(problem(
                &format!("{at}.octopus.roles"),
                "at least one role is needed: without roles every target in the environment would be in scope",
            ));
        }
        if o.roles.iter().any(|r| r.trim().is_empty()) {
            problems.push(problem(&format!("{at}.octopus.roles"), "contains an empty role"));
        }
        if o.timeout_secs == 0 {
            problems.push(problem(&format!("{at}.octopus.timeout_secs"), "must be at least 1"));
        }

        let a = &self.azure;
        check_url(&format!("{at}.azure.arm_url"), &a.arm_url, problems);
        match (a.credential, &a.token_env) {
            (CredentialKind::TokenEnv, None) => problems.push(problem(
                &format!("{at}.azure.token_env"),
                "is required with credential = \"token_env\"",
            )),
            (CredentialKind::TokenEnv, Some(var)) if !is_env_var_name(var) => problems.push(problem(
                &format!("{at}.azure.token_env"),
                "must be an environment variable name, never the token itself",
            )),
            _ => {}
        }
        if a.lro_deadline_secs == 0 || a.timeout_secs == 0 {
            problems.push(problem(&format!("{at}.azure"), "timeouts must be at least 1 second"));
        }

        if self.scale_sets.is_empty() {
            problems
                .push(problem(&format!("{at}.scale_sets"), "at least one [[scale_sets]] entry is needed"));
        }
        if let Some(aws) = &self.aws {
            aws::validate_table(aws, at, problems);
        }
        for (i, set) in self.scale_sets.iter().enumerate() {
            let key = format!("{at}.scale_sets[{i}]");
            match set.provider.as_str() {
                "azure" => validate_azure_set(set, &key, problems),
                "aws" => aws::validate_set(self, set, &key, problems),
                other => problems.push(problem(
                    &format!("{key}.provider"),
                    &format!("`{other}` is not supported (supported: azure, aws)"),
                )),
            }
            let duplicate = self.scale_sets[..i].iter().any(|other| other.key() == set.key());
            if duplicate {
                problems.push(problem(&key, "the same scale set is listed twice"));
            }
        }

        let g = &self.guard;
        if g.min_capacity > g.max_capacity {
            problems.push(problem(
                &format!("{at}.guard.min_capacity"),
                &format!("{} is above max_capacity {}", g.min_capacity, g.max_capacity),
            ));
        }
        if g.max_step == 0 {
            problems.push(problem(&format!("{at}.guard.max_step"), "must be at least 1"));
        }

        let r = &self.reconcile;
        if r.absent_observations < 2 {
            problems.push(problem(
                &format!("{at}.reconcile.absent_observations"),
                "must be at least 2: one listing is never enough evidence that a VM is gone",
            ));
        }
        if r.provisioning_timeout_secs == 0 {
            problems
                .push(problem(&format!("{at}.reconcile.provisioning_timeout_secs"), "must be at least 1"));
        }
        if self.console.refresh_secs == 0 {
            problems.push(problem(&format!("{at}.console.refresh_secs"), "must be at least 1"));
        }
        if self.nodes.offline_after_secs == 0 {
            problems.push(problem(&format!("{at}.nodes.offline_after_secs"), "must be at least 1"));
        }
        nodes::validate(self, at, problems);
    }

    /// The Octopus API key from the env var the config names.
    pub fn octopus_api_key(&self) -> Result<Secret, ConfigError> {
        read_secret_env(&self.octopus.api_key_env, "octopus.api_key_env")
    }
}

/// An Azure scale set's own fields.
fn validate_azure_set(set: &ScaleSetConfig, key: &str, problems: &mut Vec<Problem>) {
    for (field, value) in [
        ("subscription_id", &set.subscription_id),
        ("resource_group", &set.resource_group),
        ("name", &set.name),
    ] {
        if value.trim().is_empty() {
            problems.push(problem(&format!("{key}.{field}"), "must not be empty"));
        }
    }
    if !set.subscription_id.is_empty() && uuid::Uuid::parse_str(&set.subscription_id).is_err() {
        problems.push(problem(&format!("{key}.subscription_id"), "must be a GUID"));
    }
    if set.match_by.is_aws() {
        problems.push(problem(
            &format!("{key}.match"),
            &format!(
                "`{}` is an AWS match; an azure scale set matches by computer_name or instance_name",
                set.match_by.as_str()
            ),
        ));
    }
}

fn check_url(key: &str, value: &str, problems: &mut Vec<Problem>) {
    match url::Url::parse(value) {
        Ok(url) if url.scheme() == "http" || url.scheme() == "https" => {
            if url.password().is_some() || !url.username().is_empty() {
                problems.push(problem(key, "must not carry credentials"));
            }
        }
        Ok(url) => problems.push(problem(key, &format!("scheme `{}` is not http or https", url.scheme()))),
        Err(err) => problems.push(problem(key, &format!("`{value}` is not a URL ({err})"))),
    }
}

/// The commented example written by `config init`.
pub const EXAMPLE: &str = include_str!("../../../assets/config.example.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_is_valid() {
        let config = ConfigFile::parse(EXAMPLE, Path::new("example.toml")).expect("example parses");
        assert_eq!(config.validate(), vec![]);
        let (name, profile) = config.profile(None).unwrap();
        assert_eq!(name, "prod");
        assert_eq!(profile.octopus.roles, vec!["vmss-web", "web-server"]);
        assert_eq!(profile.scale_sets[0].match_by, MatchBy::ComputerName);
    }

    #[test]
    fn target_tags_is_roles_by_its_new_name_but_not_both() {
        let renamed = EXAMPLE.replacen("roles = ", "target_tags = ", 1);
        let config = ConfigFile::parse(&renamed, Path::new("c.toml")).expect("the alias parses");
        assert_eq!(config.profile(None).unwrap().1.octopus.roles, vec!["vmss-web", "web-server"]);
        let both = EXAMPLE.replacen("roles = ", "target_tags = [\"x\"]\nroles = ", 1);
        let err = ConfigFile::parse(&both, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("`roles` and `target_tags`") && err.contains("not both"), "{err}");
    }

    #[test]
    fn an_unknown_table_is_named_in_full() {
        let text = format!("{EXAMPLE}\n[profiles.heldout.gcp]\nregion = \"x\"\n");
        let err = ConfigFile::parse(&text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("[profiles.heldout.gcp]"), "the whole table: {err}");
        assert!(!err.contains("[profiles.heldout.)"), "never cut off: {err}");
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let text = EXAMPLE.replace("max_step = 5", "max_step = 5\nmax_stepp = 6");
        let err = ConfigFile::parse(&text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("max_stepp"), "{err}");
        let line = text.lines().position(|l| l.starts_with("max_stepp")).unwrap() + 1;
        assert!(err.contains(&format!("line {line}")), "{err}");
    }

    #[test]
    fn literal_api_key_is_refused_with_advice() {
        let text = EXAMPLE.replace(
            "api_key_env = \"OCTOPUS_API_KEY\"",
            "api_key_env = \"OCTOPUS_API_KEY\"\napi_key = \"API-ABCDEF123\"",
        );
        let err = ConfigFile::parse(&text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("api_key_env"), "{err}");
        assert!(!err.contains("API-ABCDEF123"), "the secret must not be echoed: {err}");

        let text = EXAMPLE.replace("api_key_env = \"OCTOPUS_API_KEY\"", "api_key_env = \"API-ABCDEF123456\"");
        let config = ConfigFile::parse(&text, Path::new("c.toml")).unwrap();
        let problems = config.validate();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "profiles.prod.octopus.api_key_env");
        assert!(!problems[0].message.contains("API-ABCDEF123456"));
    }

    #[test]
    fn every_semantic_problem_is_listed_with_its_path() {
        let text = EXAMPLE
            .replace("min_capacity = 2", "min_capacity = 30")
            .replace("url = \"https://octopus.example.com\"", "url = \"octopus\"")
            .replace("absent_observations = 3", "absent_observations = 1")
            .replace("subscription_id = \"00000000-0000-0000-0000-000000000000\"", "subscription_id = \"x\"");
        let config = ConfigFile::parse(&text, Path::new("c.toml")).unwrap();
        let keys: Vec<String> = config.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            vec![
                "profiles.prod.octopus.url",
                "profiles.prod.scale_sets[0].subscription_id",
                "profiles.prod.guard.min_capacity",
                "profiles.prod.reconcile.absent_observations",
            ]
        );
    }

    #[test]
    fn token_env_credential_needs_the_variable_name() {
        let text = EXAMPLE
            .replace("credential = \"default\"", "credential = \"token_env\"")
            .replace("token_env = \"ARM_TOKEN\"", "");
        let config = ConfigFile::parse(&text, Path::new("c.toml")).unwrap();
        let problems = config.validate();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, "profiles.prod.azure.token_env");
    }

    #[test]
    fn wrong_type_and_bad_enum_name_the_key() {
        let text = EXAMPLE.replace("max_step = 5", "max_step = \"five\"");
        let err = ConfigFile::parse(&text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("max_step"), "{err}");
        let text = EXAMPLE.replace("match = \"computer_name\"", "match = \"hostname\"");
        let err = ConfigFile::parse(&text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("hostname") && err.contains("computer_name"), "{err}");
    }

    #[test]
    fn a_key_pasted_into_a_key_name_is_hidden() {
        let text = EXAMPLE.replace("absent_grace_secs", "absent_grAPI-ABCDEF0123456789ace_secs");
        let err = ConfigFile::parse(&text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(!err.contains("ABCDEF0123456789"), "{err}");
        assert!(err.contains("key `absent_gr<hidden>_secs`") && err.contains("absent_grace_secs"), "{err}");
        assert_eq!(
            hide_api_keys("an api-key API-SHORT stays, api-ok too"),
            "an api-key API-SHORT stays, api-ok too"
        );
    }

    #[test]
    fn the_autoscale_policy_refuses_by_default_and_a_wrong_value_names_the_key() {
        let parsed = |text: &str| ConfigFile::parse(text, Path::new("c.toml"));
        let example = parsed(EXAMPLE).unwrap();
        assert_eq!(example.profile(None).unwrap().1.guard.autoscale, AutoscalePolicy::Refuse);
        let without = parsed(&EXAMPLE.replace("autoscale = \"refuse\"\n", "")).unwrap();
        assert_eq!(without.profile(None).unwrap().1.guard.autoscale, AutoscalePolicy::Refuse);
        let warn = parsed(&EXAMPLE.replace("autoscale = \"refuse\"", "autoscale = \"warn\"")).unwrap();
        assert_eq!(warn.profile(None).unwrap().1.guard.autoscale, AutoscalePolicy::Warn);
        let err = parsed(&EXAMPLE.replace("autoscale = \"refuse\"", "autoscale = \"maybe\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("key `autoscale`") && err.contains("refuse") && err.contains("warn"), "{err}");
    }

    #[test]
    fn profile_selection_reports_what_is_defined() {
        let config = ConfigFile::parse(EXAMPLE, Path::new("c.toml")).unwrap();
        let err = config.profile(Some("staging")).unwrap_err().to_string();
        assert!(err.contains("staging") && err.contains("prod"), "{err}");
    }

    #[test]
    fn missing_secret_env_names_the_variable() {
        let err = read_secret_env("SCALEGUARD_TEST_SURELY_UNSET_VAR", "octopus.api_key_env").unwrap_err();
        assert!(err.to_string().contains("SCALEGUARD_TEST_SURELY_UNSET_VAR"));
    }
}
