//! The simulated Activity Log (`Microsoft.Insights/eventtypes/management/values`, api-version
//! 2015-04-01): every capacity write (a PATCH or delete through ARM, a scenario event, a person in
//! the "portal", Autoscale) becomes Started and Accepted events, then Succeeded when its operation
//! ends, sharing one `operationId`; Autoscale's own scale actions are `AutoscaleAction` events on
//! the autoscale setting, as the real service records them.
//!
//! The `$filter` grammar is the spec's (ActivityLogs_List): `eventTimestamp ge '…'` and
//! `eventTimestamp le '…'`, optionally with one `resourceUri eq '…'`, `resourceGroupName eq '…'`,
//! `resourceProvider eq '…'` or `correlationId eq '…'`; anything else is a 400, as on Azure.

use super::world::{SimTime, World};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Who wrote to a scale set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writer {
    /// A client of the simulator's ARM API (scaleguard, the conformance suite).
    Api,
    /// A scenario event or the control endpoint.
    Scenario,
    /// A person: `caller` (a UPN) through `app` ("portal", "cli", "powershell" or anything else).
    Person { caller: String, app: String },
    /// Azure Autoscale, for the setting with this ARM id.
    Autoscale { setting_id: String },
}

impl Writer {
    fn caller(&self) -> String {
        match self {
            Writer::Api => "sim-api-client@example.com".into(),
            Writer::Scenario => "scenario (simulator)".into(),
            Writer::Person { caller, .. } => caller.clone(),
            Writer::Autoscale { .. } => "Microsoft.Insights/autoscaleSettings".into(),
        }
    }

    /// Microsoft's first-party application ids for the tools a person uses.
    fn app_id(&self) -> Option<&'static str> {
        let Writer::Person { app, .. } = self else { return None };
        match app.to_ascii_lowercase().as_str() {
            "portal" => Some("c44b4083-3bb0-49c1-b47d-974e53cbdf3c"),
            "cli" => Some("04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
            "powershell" => Some("1950a258-227b-4e31-a9cf-717495945fc2"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityEvent {
    pub event_data_id: String,
    pub operation_id: String,
    pub resource_id: String,
    pub resource_group: String,
    pub operation_name: String,
    pub event_name: &'static str,
    pub category: &'static str,
    pub status: &'static str,
    pub sub_status: &'static str,
    pub at: SimTime,
    pub caller: String,
    pub app_id: Option<&'static str>,
    pub properties: Vec<(String, String)>,
}

/// What a `$filter` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFilter {
    pub from: OffsetDateTime,
    pub to: Option<OffsetDateTime>,
    pub field: Option<(String, String)>,
}

impl EventFilter {
    /// The spec's patterns only; the error is the sentence a 400 carries.
    pub fn parse(filter: &str) -> Result<Self, String> {
        let invalid = || {
            format!(
                "The $filter '{filter}' is not supported: use eventTimestamp ge '<time>' [and eventTimestamp le '<time>'] \
                 [and resourceUri|resourceGroupName|resourceProvider|correlationId eq '<value>']"
            )
        };
        let mut from = None;
        let mut to = None;
        let mut field = None;
        for clause in filter.split(" and ") {
            let mut parts = clause.trim().splitn(3, ' ');
            let (Some(name), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(invalid());
            };
            let value =
                value.trim().strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).ok_or_else(invalid)?;
            match (name, op.to_ascii_lowercase().as_str()) {
                ("eventTimestamp", "ge") if from.is_none() => {
                    from = Some(OffsetDateTime::parse(value, &Rfc3339).map_err(|_| invalid())?)
                }
                ("eventTimestamp", "le") if to.is_none() => {
                    to = Some(OffsetDateTime::parse(value, &Rfc3339).map_err(|_| invalid())?)
                }
                ("resourceUri" | "resourceGroupName" | "resourceProvider" | "correlationId", "eq")
                    if field.is_none() =>
                {
                    field = Some((name.to_string(), value.to_string()))
                }
                _ => return Err(invalid()),
            }
        }
        let from = from.ok_or_else(invalid)?;
        Ok(Self { from, to, field })
    }
}

impl World {
    /// Started and Accepted events of a write to scale set `set_index` by `writer`; returns the
    /// operation id, for [`World::finish_write`].
    pub fn record_set_write(&mut self, set_index: usize, writer: &Writer, operation_name: &str) -> String {
        let set = &self.scale_sets[set_index];
        let resource_id = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}",
            set.subscription_id, set.resource_group, set.name
        );
        let resource_group = set.resource_group.clone();
        let operation_id = self.new_guid();
        for (status, sub_status, event_name) in
            [("Started", "", "BeginRequest"), ("Accepted", "Accepted", "EndRequest")]
        {
            let event = self.event(&operation_id, &resource_id, &resource_group, operation_name, writer);
            self.activity.push(ActivityEvent { status, sub_status, event_name, ..event });
        }
        operation_id
    }

    /// A write to an autoscale setting (a PUT or PATCH), finished at once.
    pub fn record_setting_write(&mut self, setting_id: &str, resource_group: &str, writer: &Writer) {
        let operation_id = self.new_guid();
        for (status, sub_status, event_name) in [
            ("Started", "", "BeginRequest"),
            ("Accepted", "Created", "EndRequest"),
            ("Succeeded", "OK", "EndRequest"),
        ] {
            let event = self.event(
                &operation_id,
                setting_id,
                resource_group,
                "microsoft.insights/autoscalesettings/write",
                writer,
            );
            self.activity.push(ActivityEvent { status, sub_status, event_name, ..event });
        }
    }

    /// The Succeeded event of a write whose operation ended.
    pub fn finish_write(&mut self, operation_id: &str) {
        let Some(started) = self.activity.iter().find(|e| e.operation_id == operation_id).cloned() else {
            return;
        };
        let id = self.new_guid();
        self.activity.push(ActivityEvent {
            event_data_id: id,
            status: "Succeeded",
            sub_status: "OK",
            event_name: "EndRequest",
            at: self.now,
            ..started
        });
    }

    /// Autoscale scaled set `set_index` from `old` to `new` for the setting `setting_id`.
    pub fn record_autoscale_action(
        &mut self,
        setting_id: &str,
        set_index: usize,
        old: u32,
        new: u32,
        profile: &str,
    ) {
        let set = &self.scale_sets[set_index];
        let target = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}",
            set.subscription_id, set.resource_group, set.name
        );
        let resource_group = set.resource_group.clone();
        let direction = if new > old { "Scaleup" } else { "Scaledown" };
        let operation_id = self.new_guid();
        let writer = Writer::Autoscale { setting_id: setting_id.to_string() };
        let operation = format!("Microsoft.Insights/AutoscaleSettings/{direction}/Action");
        let mut event = self.event(&operation_id, setting_id, &resource_group, &operation, &writer);
        event.event_name = "AutoscaleAction";
        event.category = "Autoscale";
        event.status = "Succeeded";
        event.properties = vec![
            (
                "Description".into(),
                format!("The autoscale engine attempting to scale resource '{target}' from {old} instances count to {new} instances count."),
            ),
            ("ResourceName".into(), target),
            ("OldInstancesCount".into(), old.to_string()),
            ("NewInstancesCount".into(), new.to_string()),
            ("ActiveAutoscaleProfile".into(), json!({"Name": profile}).to_string()),
        ];
        self.activity.push(event);
    }

    fn event(
        &mut self,
        operation_id: &str,
        resource_id: &str,
        resource_group: &str,
        operation_name: &str,
        writer: &Writer,
    ) -> ActivityEvent {
        ActivityEvent {
            event_data_id: self.new_guid(),
            operation_id: operation_id.to_string(),
            resource_id: resource_id.to_string(),
            resource_group: resource_group.to_string(),
            operation_name: operation_name.to_string(),
            event_name: "BeginRequest",
            category: "Administrative",
            status: "Started",
            sub_status: "",
            at: self.now,
            caller: writer.caller(),
            app_id: writer.app_id(),
            properties: Vec::new(),
        }
    }

    /// The events `filter` selects, newest first (as the service lists them).
    pub fn events(&self, filter: &EventFilter) -> Vec<&ActivityEvent> {
        let mut events: Vec<&ActivityEvent> = self
            .activity
            .iter()
            .filter(|e| {
                let at = self.time_at(e.at);
                at >= filter.from && filter.to.is_none_or(|to| at <= to)
            })
            .filter(|e| match &filter.field {
                None => true,
                Some((name, value)) => {
                    let field = match name.as_str() {
                        "resourceUri" => &e.resource_id,
                        "resourceGroupName" => &e.resource_group,
                        "correlationId" => &e.operation_id,
                        _ => &e.operation_name,
                    };
                    if name == "resourceProvider" {
                        field.to_ascii_lowercase().starts_with(&format!("{}/", value.to_ascii_lowercase()))
                    } else {
                        field.eq_ignore_ascii_case(value)
                    }
                }
            })
            .collect();
        events.sort_by(|a, b| b.at.total_cmp(&a.at));
        events
    }

    /// One event as `EventData` JSON.
    pub fn event_json(&self, subscription: &str, event: &ActivityEvent) -> Value {
        let localizable = |value: &str| json!({"value": value, "localizedValue": value});
        let at = self.time_at(event.at);
        let stamp = at.format(&Rfc3339).unwrap_or_default();
        let mut claims = json!({});
        if let Some(app_id) = event.app_id {
            claims["appid"] = json!(app_id);
        }
        let provider = event.operation_name.split('/').next().unwrap_or_default();
        json!({
            "authorization": {"action": event.operation_name, "scope": event.resource_id},
            "caller": event.caller,
            "claims": claims,
            "correlationId": event.operation_id,
            "description": "",
            "eventDataId": event.event_data_id,
            "eventName": localizable(event.event_name),
            "category": localizable(event.category),
            "id": format!("{}/events/{}/ticks/{}", event.resource_id, event.event_data_id, (at.unix_timestamp_nanos() / 100) + 621_355_968_000_000_000),
            "level": "Informational",
            "resourceGroupName": event.resource_group,
            "resourceProviderName": localizable(provider),
            "resourceId": event.resource_id,
            "operationId": event.operation_id,
            "operationName": localizable(&event.operation_name),
            "properties": event.properties.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<String, Value>>(),
            "status": localizable(event.status),
            "subStatus": localizable(event.sub_status),
            "eventTimestamp": stamp,
            "submissionTimestamp": stamp,
            "subscriptionId": subscription,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_spec_patterns_parse_and_others_are_refused() {
        let filter = EventFilter::parse(
            "eventTimestamp ge '2026-01-05T09:00:00Z' and eventTimestamp le '2026-01-05T10:00:00Z' and resourceUri eq '/subscriptions/s/x'",
        )
        .unwrap();
        assert_eq!(filter.from, datetime!(2026-01-05 09:00 UTC));
        assert_eq!(filter.to, Some(datetime!(2026-01-05 10:00 UTC)));
        assert_eq!(filter.field, Some(("resourceUri".into(), "/subscriptions/s/x".into())));
        for bad in [
            "resourceUri eq '/x'",
            "eventTimestamp gt '2026-01-05T09:00:00Z'",
            "eventTimestamp ge '2026-01-05T09:00:00Z' and caller eq 'x'",
            "eventTimestamp ge '2026-01-05T09:00:00Z' or resourceUri eq 'x'",
            "eventTimestamp ge 'yesterday'",
        ] {
            assert!(EventFilter::parse(bad).is_err(), "{bad}");
        }
    }
}
