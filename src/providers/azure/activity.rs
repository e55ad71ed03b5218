//! Activity Log events (`EventData`, Microsoft.Insights api-version 2015-04-01) into the changes
//! the guard's cooldown counts, with who made them. Pure.
//!
//! A write shows up as several events sharing an `operationId` (Started, Accepted, Succeeded): one
//! change per operation, at its first event (when the write was made: the Succeeded of a scale-out
//! comes minutes later, when the VMs are up, and must not make it look newer than a change made
//! meanwhile). An operation that only failed changed nothing and is left out; one still in
//! progress counts. Autoscale's own actions are events on the autoscale
//! setting (`eventName` AutoscaleAction, `caller` Microsoft.Insights/autoscaleSettings, properties
//! `OldInstancesCount` / `NewInstancesCount`: Get-AzAutoscaleHistory on Microsoft Learn shows one).
//! Who: `caller` (a UPN, or the service principal), with the tool when `claims.appid` is one of
//! Microsoft's first-party apps ("Verify first-party Microsoft applications in sign-in reports").

use crate::model::{ScaleChange, ScaleSetKey};
use serde_json::Value;
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const AUTOSCALE_CALLER: &str = "microsoft.insights/autoscalesettings";

/// First-party application ids and the tool a person used.
const APPS: &[(&str, &str)] = &[
    ("c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "portal"),
    ("04b07795-8ddb-461a-bbee-02f9e1bf7b46", "Azure CLI"),
    ("1950a258-227b-4e31-a9cf-717495945fc2", "Azure PowerShell"),
];

/// The changes in `events` (all pages of one resource's events) to `key`. `setting`: the name of
/// the set's autoscale setting. `actions_only`: these are the setting's own events, where only
/// Autoscale's scale actions change the set (a write to the setting does not).
pub fn changes(
    key: &ScaleSetKey,
    setting: Option<&str>,
    events: &[Value],
    actions_only: bool,
) -> Vec<ScaleChange> {
    let mut operations: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for (index, event) in events.iter().enumerate() {
        let id = ["operationId", "correlationId", "eventDataId"]
            .iter()
            .find_map(|field| text(event, &[field]).filter(|id| !id.is_empty()))
            .map(str::to_string)
            .unwrap_or_else(|| format!("event {index}"));
        operations.entry(id).or_default().push(event);
    }
    operations.values().filter_map(|events| change(key, setting, events, actions_only)).collect()
}

fn change(
    key: &ScaleSetKey,
    setting: Option<&str>,
    events: &[&Value],
    actions_only: bool,
) -> Option<ScaleChange> {
    let statuses: Vec<String> =
        events.iter().filter_map(|e| text(e, &["status", "value"])).map(str::to_ascii_lowercase).collect();
    let landed = statuses.iter().any(|s| s != "failed");
    if !landed {
        return None;
    }
    let at = events.iter().filter_map(|e| text(e, &["eventTimestamp"])).filter_map(parse_time).min()?;
    let caller = events.iter().find_map(|e| text(e, &["caller"]).filter(|c| !c.trim().is_empty()));
    let autoscale = caller.is_some_and(|c| c.eq_ignore_ascii_case(AUTOSCALE_CALLER))
        || events.iter().any(|e| {
            text(e, &["eventName", "value"]).is_some_and(|n| n.eq_ignore_ascii_case("AutoscaleAction"))
        });
    if actions_only && !autoscale {
        return None;
    }
    let count = |name: &str| events.iter().find_map(|e| property_count(e, name));
    let by = if autoscale {
        match setting {
            Some(setting) => format!("autoscale (setting {setting})"),
            None => "autoscale".to_string(),
        }
    } else {
        let who = caller
            .map(crate::untrusted::server_text)
            .unwrap_or_else(|| "someone (no caller recorded)".into());
        let app = events.iter().find_map(|e| text(e, &["claims", "appid"]));
        match app.and_then(|app| APPS.iter().find(|(id, _)| id.eq_ignore_ascii_case(app))) {
            Some((_, tool)) => format!("{who} via {tool}"),
            None => who,
        }
    };
    Some(ScaleChange {
        scale_set: key.clone(),
        at,
        from: count("OldInstancesCount"),
        to: count("NewInstancesCount"),
        by: Some(by),
    })
}

fn text<'a>(event: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(event, |value, key| value.get(key))?.as_str()
}

/// `properties` values are strings in the spec (`Dictionary<String, String>`).
fn property_count(event: &Value, name: &str) -> Option<u32> {
    match event.get("properties")?.get(name)? {
        Value::String(text) => text.trim().parse().ok(),
        Value::Number(number) => number.as_u64().and_then(|n| u32::try_from(n).ok()),
        _ => None,
    }
}

/// ISO 8601 with up to 7 fractional digits (`2015-01-21T22:14:26.9792776Z`).
fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn key() -> ScaleSetKey {
        ScaleSetKey {
            provider: "azure".into(),
            subscription_id: "s".into(),
            resource_group: "rg".into(),
            name: "web".into(),
        }
    }

    fn event(operation: &str, status: &str, at: &str, caller: &str, appid: &str) -> Value {
        json!({
            "caller": caller, "operationId": operation, "eventTimestamp": at,
            "status": {"value": status, "localizedValue": status},
            "operationName": {"value": "Microsoft.Compute/virtualMachineScaleSets/write"},
            "claims": {"appid": appid},
        })
    }

    #[test]
    fn one_change_per_operation_at_its_first_event_with_the_tool_named() {
        let portal = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
        let events = [
            event("op1", "Started", "2026-01-05T09:50:00.1234567Z", "ops@contoso.com", portal),
            event("op1", "Accepted", "2026-01-05T09:50:01Z", "ops@contoso.com", portal),
            event("op1", "Succeeded", "2026-01-05T09:51:30Z", "ops@contoso.com", portal),
            event(
                "op2",
                "Started",
                "2026-01-05T09:55:00Z",
                "pipeline-sp",
                "00000000-0000-0000-0000-000000000001",
            ),
            event("op2", "Failed", "2026-01-05T09:55:02Z", "pipeline-sp", ""),
            event("op3", "Failed", "2026-01-05T09:58:00Z", "mallory@contoso.com", ""),
        ];
        let changes = changes(&key(), None, &events, false);
        let seen: Vec<_> = changes.iter().map(|c| (c.at, c.by.clone().unwrap())).collect();
        assert_eq!(
            seen,
            vec![
                (datetime!(2026-01-05 09:50:00.1234567 UTC), "ops@contoso.com via portal".to_string()),
                (datetime!(2026-01-05 09:55:00 UTC), "pipeline-sp".to_string()),
            ],
            "a failed-only operation changed nothing; one that started may have"
        );
    }

    /// The spec's own example (tests/fixtures/azure/SOURCES.md): a write by admin@contoso.com.
    #[test]
    fn the_spec_example_is_one_change_by_its_caller() {
        let example: Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/azure/GetActivityLogsFiltered.json"))
                .unwrap();
        let events = example["responses"]["200"]["body"]["value"].as_array().unwrap().clone();
        let changes = changes(&key(), None, &events, false);
        assert_eq!(changes.len(), 1);
        // 7 fractional digits; the example's appid is obfuscated, so no tool is named.
        assert_eq!(changes[0].at, datetime!(2015-01-21 22:14:26.9792776 UTC));
        assert_eq!(changes[0].by.as_deref(), Some("admin@contoso.com"));
        assert_eq!((changes[0].from, changes[0].to), (None, None));
    }

    #[test]
    fn autoscale_actions_name_the_setting_and_the_counts() {
        let action = json!({
            "caller": "Microsoft.Insights/autoscaleSettings",
            "eventName": {"value": "AutoscaleAction"},
            "operationId": "op9",
            "operationName": {"value": "Microsoft.Insights/AutoscaleSettings/Scaledown/Action"},
            "status": {"value": "Succeeded"},
            "eventTimestamp": "2026-01-05T09:57:00Z",
            "properties": {"OldInstancesCount": "9", "NewInstancesCount": "6"},
        });
        let write = event("op8", "Succeeded", "2026-01-05T09:58:00Z", "ops@contoso.com", "");
        let changes = changes(&key(), Some("web-autoscale"), &[action, write], true);
        assert_eq!(changes.len(), 1, "a write to the setting is no change to the set: {changes:?}");
        assert_eq!(changes[0].by.as_deref(), Some("autoscale (setting web-autoscale)"));
        assert_eq!((changes[0].from, changes[0].to), (Some(9), Some(6)));
    }
}
