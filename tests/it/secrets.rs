//! Invariant 6: API keys, bearer tokens and client secrets never reach the screen, the journal,
//! history or log files, `--format json`, error messages or panic output.
//!
//! Every headless command runs against the simulator (whose key and token are random and
//! distinctive), in both formats, on the happy path and on error paths (a 401, a dead server), with
//! SCALEGUARD_LOG=trace (and RUST_LOG=trace) and RUST_BACKTRACE=1; then everything it printed or
//! wrote is searched. A server that quotes the credential back (`echo_secret`) is one error path.

use crate::support::bench::{assert_no_secret, files_under, Bench, Run, SET};
use crate::support::pty::Console;
use scaleguard::config::ConfigFile;
use scaleguard::octopus::OctopusClient;
use scaleguard::secret::Secret;
use scaleguard::sim::{FaultSpec, SimOptions};
use std::path::Path;
use std::time::Duration;

// The demo (whose simulator makes its own secrets) is searched in tests/terminal/console_pty.rs: every byte
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
        command.env("RUST_LOG", "trace").env("SCALEGUARD_LOG", "trace").env("RUST_BACKTRACE", "1");
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
    let Bench { sim, dir, config, data, .. } = bench;
    sim.shutdown().await;
    // The same config and credentials, nobody listening any more.
    let dead = Bench {
        sim: scaleguard::sim::start(SimOptions::new("steady")).await.unwrap(),
        dir,
        config,
        data,
        sim_clock: None,
    };
    let mut dead_runs = Vec::new();
    for args in HEADLESS {
        let mut command = dead.command(args);
        // The old server's credentials, not the new simulator's.
        command
            .env("OCTOPUS_API_KEY", &secrets[0])
            .env("ARM_TOKEN", &secrets[1])
            .env("RUST_LOG", "trace")
            .env("SCALEGUARD_LOG", "trace");
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

#[tokio::test(flavor = "multi_thread")]
async fn secrets_a_server_echoes_are_never_shown_or_stored() {
    let bench = Bench::start(SimOptions::new("scale-in").manual_clock(), Bench::apply_profile).await;
    bench.sim.advance(Duration::from_secs(900)).unwrap();
    let secrets = vec![bench.sim.api_key(), bench.sim.arm_token()];
    bench.sim.inject_fault(fault("octopus", "echo_secret")).unwrap();
    bench.sim.inject_fault(fault("arm", "echo_secret")).unwrap();
    let mut runs = Vec::new();
    run_all(&bench, "echo", &mut runs).await;

    for (label, run) in &runs {
        run.assert_no_panic(label);
        assert_no_secret(&secrets, &format!("{label} stdout"), &run.stdout);
        assert_no_secret(&secrets, &format!("{label} stderr"), &run.stderr);
    }
    // The servers' words did arrive (only the secret in them was hidden).
    let shown: String = runs.iter().map(|(_, run)| format!("{}{}", run.stdout, run.stderr)).collect();
    assert!(shown.contains("you provided was not valid"), "Octopus's message is shown: {shown}");
    assert!(shown.contains("The access token"), "ARM's message is shown: {shown}");
    let files = files_under(&bench.data);
    assert!(files.iter().any(|(path, _)| path.ends_with("scaleguard.log")), "logged at trace: {files:?}");
    for (path, text) in &files {
        assert_no_secret(&secrets, &path.display().to_string(), text);
    }
}

/// Invariant 6 in the console: at SCALEGUARD_LOG=trace the log holds what the HTTP stacks say
/// (azure_core's transport prints whole requests), and a server quoting the credential back ends
/// up in the status line; neither may show the key or the token.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_at_trace_logs_and_shows_no_secret() {
    let bench = Bench::start(SimOptions::new("steady").manual_clock(), |toml| toml).await;
    let secrets = vec![bench.sim.api_key(), bench.sim.arm_token()];
    let config = bench.config.display().to_string();
    let mut envs: Vec<(String, String)> = bench.sim.env().into_iter().collect();
    envs.push(("SCALEGUARD_DATA_DIR".into(), bench.data.display().to_string()));
    envs.push(("SCALEGUARD_LOG".into(), "trace".into()));
    let console = tokio::task::spawn_blocking(move || Console::start(&["--config", &config, "tui"], &envs))
        .await
        .unwrap();
    let console = tokio::task::spawn_blocking(move || {
        console.wait_for("the first refresh", Duration::from_secs(30), |s| s.contains("refreshed"));
        console
    })
    .await
    .unwrap();
    bench.sim.inject_fault(fault("octopus", "echo_secret")).unwrap();
    bench.sim.inject_fault(fault("arm", "echo_secret")).unwrap();
    let (raw, screen) = tokio::task::spawn_blocking(move || {
        console.send("r");
        let screen = console.wait_for("the echoed 401", Duration::from_secs(30), |s| s.contains("FAILED"));
        let raw = console.raw();
        console.quit();
        (raw, screen)
    })
    .await
    .unwrap();
    assert_no_secret(&secrets, "the console's terminal output", &raw);
    assert_no_secret(&secrets, "the console's screen", &screen);
    let log = std::fs::read_to_string(bench.data.join("scaleguard.log")).expect("the console logs");
    assert!(log.contains("TRACE") || log.contains("DEBUG"), "logged at trace: {log}");
    assert_no_secret(&secrets, "scaleguard.log at trace", &log);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(bench.data.join("scaleguard.log")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the log is the owner's alone");
    }
}

/// Invariant 6 on disk: the data dir is 0700 and everything in it 0600, and an older version's
/// world-readable files are tightened on the next start.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn the_data_dir_and_its_files_are_private_and_old_ones_are_tightened() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let bench = Bench::start(SimOptions::new("scale-in").manual_clock(), Bench::apply_profile).await;
    bench.sim.advance(Duration::from_secs(900)).unwrap();

    // A fresh, nested data dir: every level created, each private.
    let nested = bench.dir.path().join("fresh").join("data");
    let mut command = bench.command(&["apply", "--yes"]);
    command.env("SCALEGUARD_DATA_DIR", &nested).env("SCALEGUARD_LOG", "debug");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    assert!(output.status.code().is_some_and(|code| code != 101), "{output:?}");
    assert_eq!(mode(&nested), 0o700, "a new data dir");
    assert_eq!(mode(nested.parent().unwrap()), 0o700, "its new parent");
    let files = files_under(&nested);
    for name in ["journal.jsonl", "history-sim.json", "scaleguard.log"] {
        assert!(files.iter().any(|(path, _)| path.ends_with(name)), "{name} written: {files:?}");
    }
    for (path, _) in &files {
        assert_eq!(mode(path), 0o600, "{} is created private", path.display());
    }

    // An older version's data dir: 0755 and 0644 files; the next run tightens them all.
    std::fs::create_dir_all(&bench.data).unwrap();
    for (path, _) in &files {
        std::fs::copy(path, bench.data.join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(bench.data.join("apply-sim.lock"), "").unwrap();
    for (path, _) in files_under(&bench.data) {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(&bench.data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = bench.run(&["plan"]).await;
    run.assert_no_panic("plan");
    assert_eq!(mode(&bench.data), 0o700, "the data dir is tightened");
    for (path, _) in files_under(&bench.data) {
        assert_eq!(mode(&path), 0o600, "{} is tightened", path.display());
    }
}
