use super::*;
use crate::model::Severity;
use std::fs::OpenOptions;
use tempfile::TempDir;
use time::macros::datetime;
use time::Duration;

const NOW: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

fn key(name: &str) -> ScaleSetKey {
    ScaleSetKey {
        provider: "azure".into(),
        subscription_id: "sub".into(),
        resource_group: "rg".into(),
        name: name.into(),
    }
}

fn scale(name: &str, to: u32) -> JournalAction {
    JournalAction::Scale { scale_set: key(name), from: Some(2), to }
}

fn temp_journal() -> (TempDir, PathBuf, Journal) {
    let dir = tempfile::tempdir().unwrap();
    // A nested path proves `open` creates directories.
    let path = dir.path().join("data").join("nested").join(FILE_NAME);
    let journal = Journal::open(&path).unwrap().with_operator("alice");
    (dir, path, journal)
}

#[test]
fn round_trip_keeps_every_field() {
    let (_dir, path, journal) = temp_journal();
    let note = Action::Note { severity: Severity::Info, subject: "hello".into() };
    let intent = journal.append_intent("prod", "sale tomorrow", scale("web", 5), NOW).unwrap();
    let result = journal.append_result(&intent, Outcome::Done, NOW + Duration::seconds(40)).unwrap();
    let planned =
        journal.append_intent("prod", "cleanup", JournalAction::Planned { action: note }, NOW).unwrap();
    let skipped = journal.append_result(&planned, Outcome::Skipped("already gone".into()), NOW).unwrap();
    let drain = JournalAction::Drain {
        node_id: "OctopusServerNodes-2".into(),
        node_name: "octo2".into(),
        effect: DrainEffect::CancelTask("ServerTasks-9".into()),
    };
    let drained = journal.append_intent("prod", "scale-in", drain, NOW).unwrap();
    let failed = journal.append_result(&drained, Outcome::Failed("HTTP 500".into()), NOW).unwrap();

    let (records, warnings) = read_all(&path).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(records, vec![intent.clone(), result.clone(), planned, skipped, drained, failed]);
    assert_eq!(result.intent_id, intent.intent_id);
    assert_eq!(result.kind, RecordKind::Result);
    assert_eq!(intent.operator, "alice");
}

#[test]
fn lines_are_json_with_rfc3339_times() {
    let (_dir, path, journal) = temp_journal();
    journal.append_intent("prod", "why", scale("web", 3), NOW).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let value: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(value["time"], "2026-11-23T10:00:00Z");
    assert_eq!(value["kind"], "intent");
    assert_eq!(value["action"]["op"], "scale");
    assert!(text.ends_with('\n'));
}

#[test]
fn missing_file_reads_as_empty() {
    let dir = tempfile::tempdir().unwrap();
    let (records, warnings) = read_all(&dir.path().join("none.jsonl")).unwrap();
    assert!(records.is_empty() && warnings.is_empty());
}

#[test]
fn torn_last_line_is_skipped_with_a_warning() {
    let (_dir, path, journal) = temp_journal();
    journal.append_intent("prod", "one", scale("web", 3), NOW).unwrap();
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(br#"{"time":"2026-11-23T10:00:00Z","kind":"int"#).unwrap();
    drop(file);

    let (records, warnings) = read_all(&path).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].line, 2);
    assert!(warnings[0].to_string().contains("incomplete last line"), "{}", warnings[0]);
}

#[test]
fn reopening_after_a_torn_line_keeps_new_records_whole() {
    let (_dir, path, journal) = temp_journal();
    journal.append_intent("prod", "one", scale("web", 3), NOW).unwrap();
    drop(journal);
    OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"torn").unwrap();

    let journal = Journal::open(&path).unwrap();
    journal.append_intent("prod", "two", scale("web", 4), NOW).unwrap();
    let (records, warnings) = read_all(&path).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].line, 2);
    assert!(warnings[0].message.contains("not a valid record"));
}

#[test]
fn corrupt_middle_line_is_skipped_naming_its_line() {
    let (_dir, path, journal) = temp_journal();
    journal.append_intent("prod", "one", scale("web", 3), NOW).unwrap();
    OpenOptions::new().append(true).open(&path).unwrap().write_all(b"garbage\n\n").unwrap();
    journal.append_intent("prod", "two", scale("web", 4), NOW).unwrap();

    let (records, warnings) = read_all(&path).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(warnings, vec![Warning { line: 2, message: warnings[0].message.clone() }]);
    assert!(warnings[0].to_string().starts_with("journal line 2: not a valid record"));
}

#[test]
fn appended_records_are_on_disk_when_the_call_returns() {
    // Exercises the write + sync_data path; a second, independent reader sees the record at once.
    let (_dir, path, journal) = temp_journal();
    let intent = journal.append_intent("prod", "synced", scale("web", 3), NOW).unwrap();
    let (records, _) = read_all(&path).unwrap();
    assert_eq!(records, vec![intent]);
}

#[test]
fn pending_intents_are_those_a_crash_interrupted() {
    let (_dir, path, journal) = temp_journal();
    let finished = journal.append_intent("prod", "a", scale("web", 3), NOW).unwrap();
    journal.append_result(&finished, Outcome::Done, NOW).unwrap();
    let interrupted = journal.append_intent("prod", "b", scale("web", 4), NOW).unwrap();
    drop(journal); // the "crash": no result for the second intent

    let (records, _) = read_all(&path).unwrap();
    let pending = pending_intents(&records);
    assert_eq!(pending, vec![&interrupted]);
}

#[test]
fn last_scale_change_per_set_counts_done_and_interrupted_but_not_failed() {
    let (_dir, path, journal) = temp_journal();
    let web = journal.append_intent("prod", "a", scale("web", 3), NOW).unwrap();
    journal.append_result(&web, Outcome::Done, NOW + Duration::seconds(30)).unwrap();
    let failed = journal.append_intent("prod", "b", scale("web", 4), NOW + Duration::seconds(60)).unwrap();
    journal.append_result(&failed, Outcome::Failed("412".into()), NOW + Duration::seconds(61)).unwrap();
    journal.append_intent("prod", "c", scale("api", 2), NOW + Duration::seconds(90)).unwrap();
    journal
        .append_intent(
            "prod",
            "d",
            JournalAction::TaskCap { node_id: "N1".into(), from: Some(5), to: 0 },
            NOW,
        )
        .unwrap();

    let (records, _) = read_all(&path).unwrap();
    let latest = last_scale_changes(&records);
    assert_eq!(latest.len(), 2);
    assert_eq!(latest[&key("web")].at, NOW + Duration::seconds(30));
    assert_eq!(latest[&key("web")].to, Some(3));
    assert_eq!(latest[&key("api")].at, NOW + Duration::seconds(90));
    assert_eq!(scale_history(&records).len(), 2);
}

#[test]
fn concurrent_appends_from_two_handles_stay_whole_lines() {
    let (_dir, path, first) = temp_journal();
    let second = Journal::open(&path).unwrap().with_operator("bob");
    let long_reason = "x".repeat(3000);
    std::thread::scope(|scope| {
        for journal in [&first, &second] {
            let reason = long_reason.as_str();
            scope.spawn(move || {
                for to in 0..100 {
                    journal.append_intent("prod", reason, scale("web", to), NOW).unwrap();
                }
            });
        }
    });
    let (records, warnings) = read_all(&path).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(records.len(), 200);
    assert_eq!(records.iter().filter(|r| r.operator == "bob").count(), 100);
}

#[test]
fn operator_comes_from_user_then_username_then_the_os_account() {
    let account = || Some("svc-deploy".to_string());
    assert_eq!(operator_from(Some("alice".into()), Some("ALICE".into()), account), "alice");
    assert_eq!(operator_from(Some("  ".into()), Some("bob".into()), account), "bob");
    assert_eq!(operator_from(None, None, account), "svc-deploy", "USER unset: the account's name");
    assert_eq!(operator_from(None, None, || None), "unknown");
}

#[cfg(unix)]
#[test]
fn the_os_account_name_is_found() {
    let name = account_name().expect("this process runs as an account with a name");
    assert!(!name.trim().is_empty());
}

#[test]
fn data_dir_env_overrides_the_platform_dir() {
    assert_eq!(default_path_from(Some("/tmp/sg".into())), Some(PathBuf::from("/tmp/sg").join(FILE_NAME)));
    let platform = default_path_from(None);
    if let Some(path) = platform {
        assert!(path.ends_with(FILE_NAME));
        assert!(path.to_string_lossy().contains("scaleguard"));
    }
    assert_eq!(default_path_from(Some("".into())), default_path_from(None));
}
