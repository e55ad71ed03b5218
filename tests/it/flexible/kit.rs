//! What the Flexible tests share: a simulator per test, its profile, a provider, the binary.

use crate::support::static_token::StaticToken;
use scaleguard::config::{ConfigFile, Profile};
use scaleguard::model::ScaleSetKey;
use scaleguard::providers::azure::AzureProvider;
use scaleguard::sim::{self, FaultSpec, RunningSim, SimOptions};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub async fn start(scenario: &str) -> RunningSim {
    sim::start(SimOptions::new(scenario).manual_clock()).await.unwrap()
}

pub fn profile(running: &RunningSim) -> Profile {
    let file = ConfigFile::parse(&running.profile_toml(), std::path::Path::new("sim.toml")).unwrap();
    assert_eq!(file.validate(), vec![]);
    file.profile(None).unwrap().1.clone()
}

pub fn provider(running: &RunningSim) -> AzureProvider {
    AzureProvider::with_credential(&profile(running).azure, Arc::new(StaticToken(running.arm_token())))
        .unwrap()
        .with_poll_interval(Duration::from_millis(20))
}

/// The configured set called `name`.
pub fn key(running: &RunningSim, name: &str) -> ScaleSetKey {
    profile(running).scale_sets.iter().map(|s| s.key()).find(|k| k.name == name).expect("a configured set")
}

pub fn fault(target: &str, kind: &str, count: u32) -> FaultSpec {
    FaultSpec { target: target.into(), kind: kind.into(), count, retry_after_secs: None, delay_ms: None }
}

/// A config file and a data dir for the binary; the grace is 1 s and approvals are large. Every
/// command runs with `--sim-clock` (it decides with the simulator's manual clock): a test lets time
/// pass with `advance`, never by sleeping. Before each command the manual clock also moves on by
/// the real time since the previous one started, so no command's clock runs behind the one
/// before it (a refresh not newer than the last one observed adds nothing to the history).
pub struct Cli {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub env: Vec<(String, String)>,
    advance: Arc<dyn Fn(Duration) -> Result<(), scaleguard::sim::ControlError> + Send + Sync>,
    last_command: Mutex<Instant>,
}

impl Cli {
    pub fn new(running: &RunningSim) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sim.toml");
        let toml: String = running
            .profile_toml()
            .lines()
            .map(|line| match line.split(" = ").next() {
                Some("absent_grace_secs") => "absent_grace_secs = 1",
                Some("confirm_over") => "confirm_over = 100",
                Some("cooldown_secs") => "cooldown_secs = 0",
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&config, toml).unwrap();
        Self {
            config,
            env: running.env().into_iter().collect(),
            dir,
            advance: running.advancer(),
            last_command: Mutex::new(Instant::now()),
        }
    }

    /// The binary with `args`, on the simulator's clock.
    fn command(&self, args: &[&str]) -> Command {
        let mut last = self.last_command.lock().unwrap();
        (self.advance)(last.elapsed()).expect("--sim-clock needs a manual-clock simulator");
        *last = Instant::now();
        let mut command = Command::new(env!("CARGO_BIN_EXE_scaleguard"));
        command
            .arg("--sim-clock")
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("SCALEGUARD_DATA_DIR", self.data_dir())
            .envs(self.env.iter().cloned());
        command
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Run the binary with these arguments: (exit code, stdout, stderr).
    pub async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut command = self.command(args);
        let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// `run` while the simulated clock moves `step_secs` every 100 ms, so long-running
    /// operations the binary waits for can finish.
    pub async fn run_advancing(
        &self,
        running: &RunningSim,
        args: &[&str],
        step_secs: u64,
    ) -> (i32, String, String) {
        let output =
            crate::support::sim_harness::output_advancing(self.command(args), running, step_secs).await;
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// `run`, stdout parsed as JSON (Null when it is not).
    pub async fn json(&self, args: &[&str]) -> (i32, serde_json::Value, String) {
        let (code, stdout, stderr) = self.run(args).await;
        (code, serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null), stderr)
    }
}

/// `{set}_{8 lower-case hex}`.
pub fn is_flexible_vm_name(set: &str, name: &str) -> bool {
    name.strip_prefix(set).and_then(|rest| rest.strip_prefix('_')).is_some_and(|hex| {
        hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    })
}
