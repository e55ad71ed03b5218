//! Bounded fuzzing of everything scaleguard parses from outside: config TOML, every Octopus wire
//! type (and its conversion), ARM JSON through the provider conversion, journal lines, history
//! files and simulator scenarios. Arbitrary input and mutations of valid input: never a panic;
//! an error is a non-empty sentence that never echoes a secret.

use azure_mgmt_compute::package_2024_07_01::models;
use proptest::prelude::*;
use scaleguard::config::ConfigFile;
use scaleguard::journal::{self, Journal, JournalAction, Outcome};
use scaleguard::model::{Action, ScaleSetKey};
use scaleguard::octopus::{convert, wire};
use scaleguard::providers::azure::convert as azure_convert;
use scaleguard::reconcile::{self, testkit, History, MatchedSnapshot};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::path::Path;

const CASES: u32 = 256;
/// A distinctive secret placed in inputs: it must never come back in an error message.
const SECRET: &str = "API-FUZZSECRET0123456789ABCDEF";

/// Fixed seed so CI is repeatable; `PROPTEST_RNG_SEED=<n>` explores elsewhere.
fn config() -> ProptestConfig {
    let defaults = ProptestConfig::default();
    let rng_seed = match std::env::var("PROPTEST_RNG_SEED") {
        Ok(_) => defaults.rng_seed,
        Err(_) => proptest::test_runner::RngSeed::Fixed(0x5ca1e),
    };
    ProptestConfig { cases: CASES, failure_persistence: None, rng_seed, ..defaults }
}

// ---- mutation helpers ----

/// Byte-level mutations of a valid text: cut, overwrite, insert, duplicate a slice.
fn mutate_bytes(seed: &[u8], ops: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for &(op, at, byte) in ops {
        let at = if bytes.is_empty() { 0 } else { at % bytes.len() };
        match op % 5 {
            0 => bytes.truncate(at),
            1 if !bytes.is_empty() => bytes[at] = byte,
            2 => bytes.insert(at, byte),
            3 => {
                let end = (at + 1 + usize::from(byte)).min(bytes.len());
                let slice = bytes[at..end].to_vec();
                bytes.splice(at..at, slice);
            }
            _ => {
                let token: &[u8] = TOKENS[usize::from(byte) % TOKENS.len()].as_bytes();
                bytes.splice(at..at, token.iter().copied());
            }
        }
    }
    bytes
}

const TOKENS: &[&str] = &[
    "null",
    "-1",
    "1e999",
    "18446744073709551616",
    "\"\"",
    "[]",
    "{}",
    "\"\\u0000\"",
    "true",
    "\u{feff}",
    "\"é\"",
    "=",
    "[[",
    "\n",
    "\"",
    "#",
    "'",
    "0x10",
    "nan",
    "-0",
    SECRET,
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
        ".{0,12}".prop_map(Value::String),
        Just(json!("9999-12-31T23:59:59Z")),
        Just(json!("99999999.23:59:59")),
        Just(json!("-00:00:01")),
        Just(json!(SECRET)),
        Just(json!([])),
        Just(json!({})),
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z.]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replace the values at some of the object's keys (recursively) with arbitrary ones.
fn mutate_value(value: &mut Value, picks: &mut impl Iterator<Item = (usize, Value)>) {
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let Some((choice, replacement)) = picks.next() else { return };
                match choice % 4 {
                    0 => {
                        map.insert(key, replacement);
                    }
                    1 => {
                        map.remove(&key);
                    }
                    _ => mutate_value(map.get_mut(&key).unwrap(), picks),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                mutate_value(item, picks);
            }
        }
        _ => {}
    }
}

/// A parse error must be a sentence: non-empty.
fn assert_sentence(error: &str) {
    assert!(!error.trim().is_empty(), "an empty error message");
}

/// ... and, for what an operator typed (config), never the secret they pasted in the wrong place.
/// (Server answers and our own files never hold our secrets, so echoing their values is fine.)
fn assert_clear(error: &str) {
    assert_sentence(error);
    assert!(!error.contains(SECRET), "an error echoes a secret: {error}");
}

// ---- config ----

const EXAMPLE_CONFIG: &str = include_str!("../../assets/config.example.toml");

fn check_config(text: &str) {
    match ConfigFile::parse(text, Path::new("fuzz.toml")) {
        Ok(file) => {
            for problem in file.validate() {
                assert_clear(&format!("{}: {}", problem.key, problem.message));
            }
            let _ = file.profile(None).map(|(_, p)| p.octopus_api_key());
        }
        Err(err) => assert_clear(&err.to_string()),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn config_parse_never_panics_on_arbitrary_text(text in "(?s).{0,400}") {
        check_config(&text);
    }

    #[test]
    fn config_parse_never_panics_on_mutated_valid_toml(ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6)) {
        let bytes = mutate_bytes(EXAMPLE_CONFIG.as_bytes(), &ops);
        check_config(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn config_errors_never_echo_a_pasted_secret(line in 0usize..200, key in prop::sample::select(vec!["api_key_env", "token_env", "url", "space", "timeout_secs", "api_key", "token", "roles"])) {
        // An operator pastes the key where a name or number belongs.
        let mut lines: Vec<String> = EXAMPLE_CONFIG.lines().map(str::to_string).collect();
        let at = line % lines.len();
        lines.insert(at, format!("{key} = \"{SECRET}\""));
        check_config(&lines.join("\n"));
    }
}

// ---- Octopus wire types ----

fn octopus_seeds() -> Vec<(&'static str, Value)> {
    vec![
        (
            "machine",
            json!({"Id": "Machines-1", "Name": "web-1", "Roles": ["vmss-web"], "EnvironmentIds": ["Environments-1"], "TenantIds": [], "IsDisabled": false, "MachinePolicyId": "MachinePolicies-1", "Status": "Online", "HealthStatus": "Healthy", "HasLatestCalamari": true, "Thumbprint": "ABC", "Uri": "https://web-1:10933/", "Endpoint": {"CommunicationStyle": "TentaclePassive", "Uri": "https://web-1:10933/", "Thumbprint": "ABC"}}),
        ),
        (
            "collection",
            json!({"ItemType": "DeploymentTarget", "TotalResults": 2, "ItemsPerPage": 1, "Items": [{"Id": "Machines-1", "Name": "web-1"}], "Links": {"Page.Next": "/api/Spaces-1/machines?skip=1&take=1"}}),
        ),
        ("root", json!({"Application": "Octopus Deploy", "Version": "2024.3.1", "ApiVersion": "3.0.0"})),
        ("named", json!({"Id": "Spaces-1", "Name": "Default", "Slug": "default"})),
        ("release", json!({"Id": "Releases-1", "ProjectId": "Projects-1", "Version": "1.4.2"})),
        (
            "deployment",
            json!({"Id": "Deployments-1", "ProjectId": "Projects-1", "ReleaseId": "Releases-1", "EnvironmentId": "Environments-1", "SpecificMachineIds": ["Machines-1"], "ExcludedMachineIds": [], "DeployedToMachineIds": ["Machines-1"], "TaskId": "ServerTasks-1", "Created": "2026-01-05T09:00:00.000+00:00"}),
        ),
        (
            "task",
            json!({"Id": "ServerTasks-1", "Name": "Deploy", "Description": "Deploy", "State": "Executing", "ServerNode": "OCTO-NODE-1", "Arguments": {"DeploymentId": "Deployments-1"}, "QueueTime": "2026-01-05T09:00:00.000+00:00", "StartTime": "2026-01-05T09:00:01.000+00:00", "CompletedTime": null}),
        ),
        (
            "node",
            json!({"Id": "OctopusServerNodes-1", "Name": "OCTO-NODE-1", "LastSeen": "2026-01-05T09:00:00.000+00:00", "IsOffline": false, "IsInMaintenanceMode": false, "MaxConcurrentTasks": 5, "RunningTaskCount": 1, "Version": "2024.3.1"}),
        ),
        (
            "summary",
            json!({"Nodes": [{"Id": "OctopusServerNodes-1", "Name": "OCTO-NODE-1", "MaxConcurrentTasks": 5}]}),
        ),
        (
            "policy",
            json!({"Id": "MachinePolicies-1", "Name": "Default Machine Policy", "IsDefault": true, "MachineCleanupPolicy": {"DeleteMachinesBehavior": "DeleteUnavailableMachines", "DeleteMachinesElapsedTimeSpan": "01:00:00"}, "MachineHealthCheckPolicy": {"HealthCheckInterval": "00:30:00"}, "MachineConnectivityPolicy": {"MachineConnectivityBehavior": "ExpectedToBeOnline"}, "MachineUpdatePolicy": {"CalamariUpdateBehavior": "UpdateOnDeployment"}}),
        ),
        (
            "project",
            json!({"Id": "Projects-1", "Name": "Todo Web", "ProjectConnectivityPolicy": {"AllowDeploymentsToNoTargets": true, "SkipMachineBehavior": "SkipUnavailableMachines", "TargetRoles": [], "ExcludeUnhealthyTargets": true}, "DefaultGuidedFailureMode": "On"}),
        ),
        ("environment", json!({"Id": "Environments-1", "Name": "Production", "UseGuidedFailure": true})),
        ("error", json!({"ErrorMessage": "There was a problem", "Errors": ["one", "two"]})),
    ]
}

/// Parse `bytes` as `T`; on success run `then` (the conversion), on failure check the message.
fn parse_as<T: DeserializeOwned>(bytes: &[u8], then: impl FnOnce(T)) {
    match serde_json::from_slice::<T>(bytes) {
        Ok(value) => then(value),
        Err(err) => assert_sentence(&err.to_string()),
    }
}

/// Every wire type, and its conversion to the domain, on the same input.
fn every_octopus_type(bytes: &[u8]) {
    parse_as::<wire::MachineResource>(bytes, |m| drop(convert::target(m, &mut convert::Repeated::default())));
    parse_as::<wire::Collection<wire::MachineResource>>(bytes, |c| {
        let _ = c.next_link();
        c.items.into_iter().for_each(|m| drop(convert::target(m, &mut convert::Repeated::default())));
    });
    parse_as::<wire::Collection<wire::TaskResource>>(bytes, |c| {
        c.items.into_iter().for_each(|t| drop(convert::task(t)))
    });
    parse_as::<wire::RootResource>(bytes, drop);
    parse_as::<wire::NamedResource>(bytes, drop);
    parse_as::<wire::EndpointResource>(bytes, drop);
    parse_as::<wire::ReleaseResource>(bytes, |r| drop(convert::release(r, "Projects-1")));
    parse_as::<wire::DeploymentResource>(bytes, |d| drop(convert::deployment(d, None)));
    parse_as::<wire::TaskResource>(bytes, |t| drop(convert::task(t)));
    parse_as::<wire::NodeStatus>(bytes, |n| drop(convert::node(n)));
    parse_as::<wire::NodeSummary>(bytes, |s| s.nodes.into_iter().for_each(|n| drop(convert::node(n))));
    parse_as::<wire::MachinePolicyResource>(bytes, |p| drop(convert::machine_policy(p)));
    parse_as::<wire::ProjectResource>(bytes, drop);
    parse_as::<wire::EnvironmentResource>(bytes, drop);
    parse_as::<wire::ErrorBody>(bytes, drop);
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn octopus_wire_types_survive_arbitrary_json(value in arbitrary_json()) {
        every_octopus_type(value.to_string().as_bytes());
    }

    #[test]
    fn octopus_wire_types_survive_mutated_valid_bodies(
        seed in 0usize..13,
        picks in prop::collection::vec((any::<usize>(), leaf()), 0..24),
        ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 0..3),
    ) {
        let seeds = octopus_seeds();
        let (_, mut value) = seeds[seed % seeds.len()].clone();
        mutate_value(&mut value, &mut picks.into_iter());
        every_octopus_type(&mutate_bytes(value.to_string().as_bytes(), &ops));
    }

    #[test]
    fn octopus_time_fields_never_panic(raw in "(?s).{0,40}") {
        let _ = convert::timestamp(Some(&raw));
        let _ = convert::parse_timespan(&raw);
    }

    #[test]
    fn octopus_timespans_of_any_size_never_panic(days in any::<u64>(), h in 0u32..100, m in 0u32..100, s in 0u32..100, frac in any::<u64>()) {
        let _ = convert::parse_timespan(&format!("{days}.{h:02}:{m:02}:{s:02}.{frac}"));
        let _ = convert::parse_timespan(&format!("{h}:{m}:{s}"));
    }
}

// ---- ARM JSON through the provider conversion ----

fn arm_fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/azure/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["responses"]["200"]["body"].clone()
}

fn key() -> ScaleSetKey {
    testkit::set_key("vmss-web")
}

fn every_arm_type(bytes: &[u8]) {
    parse_as::<models::VirtualMachineScaleSetVm>(bytes, |vm| {
        drop(azure_convert::instance(&key().into(), vm))
    });
    parse_as::<models::VirtualMachineScaleSet>(bytes, |set| {
        drop(azure_convert::scale_set(&key(), set, None))
    });
    parse_as::<models::VirtualMachineScaleSetVmListResult>(bytes, |page| {
        page.value.into_iter().for_each(|vm| drop(azure_convert::instance(&key().into(), vm)))
    });
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arm_conversion_survives_mutated_fixtures(
        which in 0usize..3,
        picks in prop::collection::vec((any::<usize>(), leaf()), 0..40),
        ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 0..3),
    ) {
        let mut value = match which {
            0 => arm_fixture("VirtualMachineScaleSetVM_List_WithResiliencyView.json")["value"][0].clone(),
            1 => arm_fixture("VirtualMachineScaleSet_Get.json"),
            _ => arm_fixture("VirtualMachineScaleSetVM_List_MaximumSet_Gen.json"),
        };
        mutate_value(&mut value, &mut picks.into_iter());
        every_arm_type(&mutate_bytes(value.to_string().as_bytes(), &ops));
    }

    #[test]
    fn arm_conversion_survives_arbitrary_json(value in arbitrary_json()) {
        every_arm_type(value.to_string().as_bytes());
    }
}

// ---- journal lines ----

/// Three valid records (an intent, its result, a dangling intent) as lines.
fn valid_journal_lines() -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let journal = Journal::open(&path).unwrap().with_operator("fuzz");
    let delete = Action::DeleteTarget {
        target_id: "Machines-3".into(),
        target_name: "web-3".into(),
        last_instance_id: Some("3".into()),
        absent_observations: 3,
        absent_secs: 400,
        requires_confirmation: false,
    };
    let now = testkit::at(0);
    let intent =
        journal.append_intent("sim", "fuzz", JournalAction::Planned { action: delete.clone() }, now).unwrap();
    journal.append_result(&intent, Outcome::Done, now).unwrap();
    journal.append_intent("sim", "fuzz", JournalAction::Planned { action: delete }, now).unwrap();
    std::fs::read_to_string(&path).unwrap().lines().map(str::to_string).collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn journal_read_all_keeps_every_whole_record_and_warns_on_the_rest(
        plan in prop::collection::vec((0u8..4, "[^\n]{0,60}", prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..3)), 0..12),
        trailing_newline in any::<bool>(),
    ) {
        let valid = valid_journal_lines();
        let mut lines = Vec::new();
        let mut untouched = 0;
        for (i, (kind, garbage, ops)) in plan.iter().enumerate() {
            match kind {
                0 | 1 => {
                    lines.push(valid[i % valid.len()].clone());
                    untouched += 1;
                }
                2 => lines.push(garbage.clone()),
                _ => {
                    let bytes = mutate_bytes(valid[i % valid.len()].as_bytes(), ops);
                    lines.push(String::from_utf8_lossy(&bytes).replace('\n', " "));
                }
            }
        }
        let mut text = lines.join("\n");
        if trailing_newline {
            text.push('\n');
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(&path, &text).unwrap();
        let (records, warnings) = journal::read_all(&path).unwrap();
        let non_blank = lines.iter().filter(|l| !l.trim().is_empty()).count();
        prop_assert_eq!(records.len() + warnings.len(), non_blank, "each line is a record or a warning");
        prop_assert!(records.len() >= untouched, "a whole record was lost");
        for warning in &warnings {
            assert_sentence(&warning.to_string());
            prop_assert!(warning.line >= 1 && warning.line <= lines.len());
        }
        let _ = journal::pending_intents(&records);
        let _ = journal::last_scale_changes(&records);
        // The journal opens for appending after any of it, and the next record reads back whole.
        let reopened = Journal::open(&path).unwrap();
        let intent = reopened.append_intent("sim", "after", JournalAction::Planned { action: Action::Note { severity: scaleguard::model::Severity::Info, subject: "x".into() } }, testkit::at(1)).unwrap();
        let (again, _) = journal::read_all(&path).unwrap();
        prop_assert_eq!(again.last(), Some(&intent));
    }
}

// ---- history files ----

fn valid_history() -> String {
    let profile = testkit::profile();
    let mut history = History::default();
    for (step, instances) in [(0, vec![1, 2, 3]), (60, vec![1, 2]), (120, vec![1])] {
        let snapshot = testkit::SnapshotBuilder::new(testkit::at(step))
            .set(
                "vmss-web",
                instances.len() as u32,
                instances.iter().map(|i| testkit::vm("vmss-web", *i)).collect(),
            )
            .targets((1..=3).map(|i| testkit::target_on(&format!("Machines-{i}"), "vmss-web", i)).collect())
            .build();
        history.observe(&MatchedSnapshot::new(&snapshot, &profile));
    }
    serde_json::to_string_pretty(&history).unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn history_files_load_or_fail_clearly_and_plan_without_panic(
        arbitrary in prop::option::of("(?s).{0,200}"),
        picks in prop::collection::vec((any::<usize>(), leaf()), 0..30),
        ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 0..3),
    ) {
        let bytes = match arbitrary {
            Some(text) => text.into_bytes(),
            None => {
                let mut value: Value = serde_json::from_str(&valid_history()).unwrap();
                mutate_value(&mut value, &mut picks.into_iter());
                mutate_bytes(value.to_string().as_bytes(), &ops)
            }
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history-sim.json");
        std::fs::write(&path, &bytes).unwrap();
        match reconcile::load_history(&path) {
            Ok(mut history) => {
                // Whatever it says, planning from it must not panic.
                let profile = testkit::profile();
                let snapshot = testkit::SnapshotBuilder::new(testkit::at(600))
                    .set("vmss-web", 1, vec![testkit::vm("vmss-web", 1)])
                    .targets((1..=3).map(|i| testkit::target_on(&format!("Machines-{i}"), "vmss-web", i)).collect())
                    .build();
                history.observe(&MatchedSnapshot::new(&snapshot, &profile));
                let _ = reconcile::plan(&snapshot, &history, testkit::at(600), &profile);
            }
            Err(err) => {
                let message = err.to_string();
                assert_sentence(&message);
                prop_assert!(message.contains("history-sim.json"), "the error names the file: {}", message);
            }
        }
    }
}

// ---- simulator scenarios ----

const SCENARIOS: &[&str] = &[
    include_str!("../../assets/scenarios/steady.toml"),
    include_str!("../../assets/scenarios/scale-out.toml"),
    include_str!("../../assets/scenarios/chaos.toml"),
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn scenario_files_parse_or_fail_clearly(which in 0usize..3, ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..5)) {
        let bytes = mutate_bytes(SCENARIOS[which].as_bytes(), &ops);
        if let Err(err) = toml::from_str::<scaleguard::sim::scenario::Scenario>(&String::from_utf8_lossy(&bytes)) {
            assert_sentence(&err.to_string());
        }
    }
}

/// Found by `config_errors_never_echo_a_pasted_secret`: serde echoed the value of a mistyped field.
#[test]
fn a_key_pasted_into_a_typed_field_is_named_by_line_and_key_but_not_echoed() {
    let text = EXAMPLE_CONFIG.replacen(
        "[profiles.prod.octopus]\n",
        &format!("[profiles.prod.octopus]\ntimeout_secs = \"{SECRET}\" # oops\n"),
        1,
    );
    assert_ne!(text, EXAMPLE_CONFIG);
    let err = ConfigFile::parse(&text, Path::new("fuzz.toml")).unwrap_err().to_string();
    assert!(!err.contains(SECRET), "{err}");
    assert!(err.contains("key `timeout_secs`") && err.contains("invalid type"), "{err}");
    let text = EXAMPLE_CONFIG.replacen("credential = ", &format!("credential = '{SECRET}' # was: "), 1);
    if text != EXAMPLE_CONFIG {
        let err = ConfigFile::parse(&text, Path::new("fuzz.toml")).unwrap_err().to_string();
        assert!(!err.contains(SECRET) && err.contains("credential"), "{err}");
    }
}
