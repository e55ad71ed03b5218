//! Invariant 6: API keys, bearer tokens and client secrets never reach the screen, the journal,
//! history or log files, `--format json`, error messages or panic output.
//!
//! Every headless command runs against the simulator (whose key and token are random and
//! distinctive), in both formats, on the happy path and on error paths (a 401, a dead server), with
//! RUST_LOG=trace and RUST_BACKTRACE=1; then everything it printed or wrote is searched.

mod rel_common;

use rel_common::{assert_no_secret, files_under, Bench, Run, SET};
use scaleguard::config::ConfigFile;
use scaleguard::octopus::OctopusClient;
use scaleguard::secret::Secret;
use scaleguard::sim::{FaultSpec, SimOptions};
use std::path::Path;
use std::time::Duration;

// The demo (whose simulator makes its own secrets) is searched in tests/console_pty.rs: every byte
// the terminal received and every file in its data dir, for the shape of the simulator's secrets.

const HEADLESS: &[&[&str]] = &[
    &["inventory"],
    &["inventory", "--format", "json"],
    &["plan"],
    &["plan", "--format", "json"],
    &["apply", "--yes"],
    &["apply", "--yes", "--format", "json"],
    &["doctor"],
    &["doctor", "--format", "json"],
    &["node", "list"],
    &["node", "list", "--format", "json"],
    &["scale", SET, "--capacity", "40", "--yes"],
    &["scale", SET, "--capacity", "40", "--yes", "--format", "json"],
    &["config", "check"],
    &["protect", SET, "0", "--reason", "secrets test", "--yes"],
];

async fn run_all(bench: &Bench, label: &str, runs: &mut Vec<(String, Run)>) {
    for args in HEADLESS {
        let mut command = bench.command(args);
        command.env("RUST_LOG", "trace").env("RUST_BACKTRACE", "1");
        let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        runs.push((format!("{label}: scaleguard {}", args.join(" ")), run));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_headless_command_shows_or_stores_a_secret() {
    let bench = Bench::start(SimOptions::new("scale-in").manual_clock(), Bench::apply_profile).await;
    bench.sim.advance(Duration::from_secs(900)).unwrap();
    let secrets = vec![bench.sim.api_key(), bench.sim.arm_token()];
    let mut runs = Vec::new();

    run_all(&bench, "healthy", &mut runs).await;
    bench.sim.inject_fault(fault("octopus", "401")).unwrap();
    bench.sim.inject_fault(fault("arm", "expired_token")).unwrap();
    run_all(&bench, "401", &mut runs).await;
    let Bench { sim, dir, config, data } = bench;
    sim.shutdown().await;
    // The same config and credentials, nobody listening any more.
    let dead =
        Bench { sim: scaleguard::sim::start(SimOptions::new("steady")).await.unwrap(), dir, config, data };
    let mut dead_runs = Vec::new();
    for args in HEADLESS {
        let mut command = dead.command(args);
        // The old server's credentials, not the new simulator's.
        command.env("OCTOPUS_API_KEY", &secrets[0]).env("ARM_TOKEN", &secrets[1]).env("RUST_LOG", "trace");
        let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
        dead_runs.push((
            format!("dead server: scaleguard {}", args.join(" ")),
            Run {
                code: output.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            },
        ));
    }
    runs.extend(dead_runs);

    let mut failed_runs = 0;
    for (label, run) in &runs {
        run.assert_no_panic(label);
        assert_no_secret(&secrets, &format!("{label} stdout"), &run.stdout);
        assert_no_secret(&secrets, &format!("{label} stderr"), &run.stderr);
        failed_runs += usize::from(run.code == 1);
    }
    // The error paths really were taken (and the happy ones printed something to search).
    assert!(failed_runs >= HEADLESS.len(), "{failed_runs} failing runs");
    assert!(runs.iter().any(|(label, run)| label.starts_with("healthy") && run.stdout.contains("vmss-web")));
    assert!(runs.iter().any(|(label, run)| label.starts_with("401") && run.stderr.contains("401")));
    assert!(runs.iter().any(|(label, run)| label.starts_with("dead") && run.stderr.contains("127.0.0.1")));

    let files = files_under(&dead.data);
    assert!(files.iter().any(|(path, _)| path.ends_with("journal.jsonl")), "apply journaled: {files:?}");
    assert!(files.iter().any(|(path, _)| path.to_string_lossy().contains("history-")), "{files:?}");
    let journal = files.iter().find(|(path, _)| path.ends_with("journal.jsonl")).unwrap();
    assert!(journal.1.lines().count() >= 2, "something was journaled: {}", journal.1);
    for (path, text) in &files {
        assert_no_secret(&secrets, &path.display().to_string(), text);
    }
    eprintln!("secrets: {} runs and {} data files searched", runs.len(), files.len());
}

fn fault(target: &str, kind: &str) -> FaultSpec {
    FaultSpec {
        target: target.into(),
        kind: kind.into(),
        count: 10_000,
        retry_after_secs: None,
        delay_ms: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_in_the_octopus_url_are_refused_without_echoing_them() {
    let bench = Bench::start(SimOptions::new("steady").manual_clock(), |toml| {
        toml.replacen("url = \"http://", "url = \"http://ops:Pa55w0rdInUrl@", 1)
    })
    .await;
    let secrets = vec!["Pa55w0rdInUrl".to_string(), bench.sim.api_key()];
    for args in [&["config", "check"][..], &["inventory"], &["plan", "--format", "json"], &["doctor"]] {
        let run = bench.run(args).await;
        run.assert_no_panic("url with credentials");
        assert_eq!(run.code, 1, "{args:?} must refuse: {}", run.stdout);
        assert_no_secret(&secrets, &format!("{args:?} stdout"), &run.stdout);
        assert_no_secret(&secrets, &format!("{args:?} stderr"), &run.stderr);
        assert!(run.stderr.contains("credentials") || run.stdout.contains("credentials"), "{}", run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn debug_of_every_secret_holding_type_redacts() {
    let sim = scaleguard::sim::start(SimOptions::new("steady").manual_clock()).await.unwrap();
    let key = sim.api_key();
    let token = sim.arm_token();
    let client_secret = "cs~Very.Distinct-Client_Secret~42";
    let secrets = vec![key.clone(), token.clone(), client_secret.to_string()];
    let config = ConfigFile::parse(&sim.profile_toml(), Path::new("sim.toml")).unwrap();
    let (_, profile) = config.profile(None).unwrap();

    let secret = Secret::new(key.clone());
    assert_no_secret(&secrets, "Secret Debug/Display", &format!("{secret:?} {secret} {secret:#?}"));
    let client = OctopusClient::new(&profile.octopus, Secret::new(key.clone())).unwrap();
    let shown = format!("{client:?} {client:#?}");
    assert!(shown.contains("redacted"), "{shown}");
    assert_no_secret(&secrets, "OctopusClient Debug", &shown);
    assert_no_secret(&secrets, "Profile Debug", &format!("{profile:?} {config:?}"));

    // The env-held secrets as the providers read them.
    std::env::set_var("SCALEGUARD_SECRETS_TEST_TOKEN", &token);
    let mut azure = profile.azure.clone();
    azure.token_env = Some("SCALEGUARD_SECRETS_TEST_TOKEN".into());
    let provider = scaleguard::providers::azure::AzureProvider::from_config(&azure).unwrap();
    assert_no_secret(&secrets, "AzureProvider (token_env) Debug", &format!("{provider:?}"));
    let credential = scaleguard::providers::azure::TokenEnvCredential::new("SCALEGUARD_SECRETS_TEST_TOKEN");
    assert_no_secret(&secrets, "TokenEnvCredential Debug", &format!("{credential:?}"));

    // client_secret: built (no token is fetched, so nothing leaves the machine), then shown.
    std::env::set_var("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000001");
    std::env::set_var("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000002");
    std::env::set_var("AZURE_CLIENT_SECRET", client_secret);
    azure.credential = scaleguard::config::CredentialKind::ClientSecret;
    match scaleguard::providers::azure::AzureProvider::from_config(&azure) {
        Ok(provider) => {
            assert_no_secret(&secrets, "AzureProvider (client_secret) Debug", &format!("{provider:?}"))
        }
        Err(err) => assert_no_secret(&secrets, "client_secret build error", &format!("{err} {err:?}")),
    }
    // A missing secret names the variable, never a value.
    std::env::remove_var("SCALEGUARD_SECRETS_TEST_TOKEN");
    let missing =
        scaleguard::config::read_secret_env("SCALEGUARD_SECRETS_TEST_TOKEN", "azure.token_env").unwrap_err();
    assert!(missing.to_string().contains("SCALEGUARD_SECRETS_TEST_TOKEN"), "{missing}");
    sim.shutdown().await;
}
