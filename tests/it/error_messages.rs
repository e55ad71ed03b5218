//! Bad input and bad answers end in one clear sentence: it names the field, variable or endpoint,
//! says what is wrong, stays short, and says each cause once.

use crate::support::bench::{set_toml, Bench, Run, MACHINES, VM_LIST};
use scaleguard::sim::{FaultSpec, SimOptions};

fn fault(target: &str, kind: &str, delay_ms: Option<u64>) -> FaultSpec {
    FaultSpec { target: target.into(), kind: kind.into(), count: 1_000, retry_after_secs: None, delay_ms }
}

fn one_second_timeouts(toml: String) -> String {
    set_toml(&toml, "timeout_secs", "1")
}

fn error_text(run: &Run) -> String {
    run.error_lines().join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_slower_than_the_timeout_says_it_timed_out() {
    let mut shown = Vec::new();
    for (target, api) in [(MACHINES, "Octopus"), (VM_LIST, "ARM")] {
        let bench = Bench::start(SimOptions::new("steady").manual_clock(), one_second_timeouts).await;
        bench.sim.inject_fault(fault(target, "slow_body", Some(5_000))).unwrap();
        let run = bench.run(&["plan"]).await;
        run.assert_no_panic(api);
        shown.push((api, error_text(&run)));
    }
    for (api, text) in shown {
        assert!(text.contains("no complete answer within 1s"), "{api}: a timeout is named: {text}");
        assert!(!text.contains("byte stream"), "{api}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_credential_with_a_bad_character_is_refused_before_any_request() {
    for var in ["OCTOPUS_API_KEY", "ARM_TOKEN"] {
        let bench = Bench::start(SimOptions::new("steady").manual_clock(), |toml| toml).await;
        let good = bench.sim.env()[var].clone();
        let (head, tail) = good.split_at(10);
        let bad = format!("{head}\n{tail}");
        let mut command = bench.command(&["plan"]);
        command.env(var, &bad);
        let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(1), "{var}: {stderr}");
        assert!(stderr.contains(var), "{var} is named: {stderr}");
        assert!(stderr.contains("line feed"), "the bad character is named: {stderr}");
        assert!(!stderr.contains("failed to parse header value"), "{stderr}");
        assert!(!stderr.contains(head) && !stderr.contains(tail), "no part of the value is shown: {stderr}");
        let stats = bench.sim.stats();
        let sent = if var == "ARM_TOKEN" { stats.arm } else { stats.octopus };
        assert_eq!(sent, 0, "{var}: no request carried the bad value");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_overlong_config_string_fails_config_check_naming_the_key_and_limit() {
    let huge = "w".repeat(1 << 20);
    let bench = Bench::start(SimOptions::new("steady").manual_clock(), |toml| {
        set_toml(&toml, "name", &format!("\"{huge}\""))
    })
    .await;
    for args in [&["config", "check"][..], &["plan"]] {
        let run = bench.run(args).await;
        run.assert_no_panic("overlong name");
        assert_eq!(run.code, 1, "{args:?} refuses: {}", run.stdout);
        let text = &run.stderr;
        assert!(text.contains("profiles.sim.scale_sets[0].name"), "{args:?} names the key: {text}");
        assert!(text.contains("64"), "{args:?} names the limit: {text}");
        assert!(run.stdout.len() + run.stderr.len() < 2_000, "{args:?}: {} bytes", run.stderr.len());
    }
    assert_eq!(bench.sim.stats().total, 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_path_that_is_a_directory_says_its_cause_once() {
    let bench = Bench::start(SimOptions::new("steady").manual_clock(), |toml| toml).await;
    for args in [&["config", "check"][..], &["plan"]] {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_scaleguard"));
        command.arg("--config").arg(bench.dir.path()).args(args).env("SCALEGUARD_DATA_DIR", &bench.data);
        command.envs(bench.sim.env()).stdin(std::process::Stdio::null());
        let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&bench.dir.path().display().to_string()), "the path is named: {stderr}");
        assert_eq!(stderr.matches("directory").count(), 1, "{args:?}: each cause once: {stderr}");
    }
}

/// Usage errors exit 64 (EX_USAGE, sysexits.h), never 2, which means "changed meanwhile",
/// "changes pending" or "in progress"; a negative capacity gets a sentence, not a `-- -1` tip.
#[test]
fn usage_errors_exit_64_and_a_negative_capacity_gets_a_sentence() {
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_scaleguard"))
            .args(args)
            .env("SCALEGUARD_CONFIG", "/nonexistent/scaleguard.toml")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    for args in [
        &["scale", "vmss-web", "--capacity", "-1"][..],
        &["scale", "vmss-web", "--capacity", "abc"],
        &["scale", "vmss-web"],
        &["plan", "--format", "yaml"],
        &["no-such-command"],
        &["apply", "--octopus-output", "--format", "json"],
    ] {
        let (code, stderr) = run(args);
        assert_eq!(code, Some(64), "{args:?}: {stderr}");
    }
    let (_, stderr) = run(&["scale", "vmss-web", "--capacity", "-1"]);
    assert!(stderr.contains("0 or more"), "a sentence about the value: {stderr}");
    assert!(!stderr.contains("-- -1"), "no tip to write `-- -1`: {stderr}");
    let (code, stdout_help) = run(&["--help"]);
    assert_eq!(code, Some(0), "{stdout_help}");
}
