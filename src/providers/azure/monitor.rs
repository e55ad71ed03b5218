//! Azure Monitor through the provider's own pipeline, credential and origin rule: the autoscale
//! settings of the set's resource group (`Microsoft.Insights/autoscalesettings`, api-version
//! 2022-10-01, paged) and the Activity Log (`Microsoft.Insights/eventtypes/management/values`,
//! api-version 2015-04-01, paged). Every request, nextLink pages included, goes only to the
//! configured ARM origin ([`PageWalk`]).
//!
//! The Activity Log's `$filter` takes only a few fixed patterns; the one used here is
//! `eventTimestamp ge '…' and eventTimestamp le '…' and resourceUri eq '…'` (ActivityLogs_List in
//! activityLogs_API.json), once for the scale set and once for its autoscale setting, whose events
//! are Autoscale's own scale actions.

use super::paging::{PageWalk, PagingStop};
use super::{activity, AzureProvider};
use crate::autoscale::{parse_setting, targets, Setting};
use crate::model::{ScaleChange, ScaleSetKey};
use crate::providers::ProviderError;
use azure_core::{Method, Url};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const AUTOSCALE_API_VERSION: &str = "2022-10-01";
const ACTIVITY_API_VERSION: &str = "2015-04-01";
/// Bounds the pages of one listing (`PageWalk` allows twice this plus ten).
const PAGE_BOUND: u32 = 20;

/// One page of an ARM collection: `{"value": [...], "nextLink": "..."}`.
#[derive(serde::Deserialize)]
struct Page {
    #[serde(default)]
    value: Vec<Value>,
    #[serde(rename = "nextLink")]
    next_link: Option<String>,
}

pub fn scale_set_id(key: &ScaleSetKey) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}",
        key.subscription_id, key.resource_group, key.name
    )
}

/// The subscription, resource group and name of an autoscale setting's ARM id, when the id is
/// exactly `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Insights/autoscalesettings/{name}`
/// (the fixed parts in any case, as ARM reads them) and no part could move a request elsewhere: empty,
/// `.` or `..`, or holding `%`, `?`, `#`, a backslash or a control character.
fn setting_id_parts(id: &str) -> Option<[&str; 3]> {
    let plain = |part: &&str| {
        !part.is_empty()
            && *part != "."
            && *part != ".."
            && !part.chars().any(|c| matches!(c, '%' | '?' | '#' | '\\') || c.is_control())
    };
    let parts: Vec<&str> = id.strip_prefix('/')?.split('/').collect();
    let fixed = [
        (0, "subscriptions"),
        (2, "resourceGroups"),
        (4, "providers"),
        (5, "Microsoft.Insights"),
        (6, "autoscalesettings"),
    ];
    let shaped = parts.len() == 8
        && parts.iter().all(plain)
        && fixed.iter().all(|(at, word)| parts[*at].eq_ignore_ascii_case(word));
    shaped.then(|| [parts[1], parts[3], parts[7]])
}

impl AzureProvider {
    /// The autoscale setting whose `targetResourceUri` is the set (case-insensitive), if any.
    pub(super) async fn autoscale_setting(
        &self,
        key: &ScaleSetKey,
    ) -> Result<Option<Setting>, ProviderError> {
        let what = format!("GET autoscale settings of resource group {}", key.resource_group);
        let mut url = self.endpoint.clone();
        url.set_path(&format!(
            "/subscriptions/{}/resourcegroups/{}/providers/Microsoft.Insights/autoscalesettings",
            key.subscription_id, key.resource_group
        ));
        url.query_pairs_mut().append_pair("api-version", AUTOSCALE_API_VERSION);
        let set_id = scale_set_id(key);
        let settings = self.all_pages(url, &what, "id").await?;
        let mut matching: Vec<&Value> = settings.iter().filter(|s| targets(s, &set_id)).collect();
        match matching.len() {
            0 => Ok(None),
            1 => {
                let setting = parse_setting(matching.remove(0)).map_err(|err| {
                    ProviderError::BadResponse { what: what.clone(), detail: err.to_string() }
                })?;
                // The setting is written back to its id: an id naming anything but this setting of
                // the set's resource group would send the write (and the token) elsewhere.
                let own = |[subscription, group, name]: [&str; 3]| {
                    subscription.eq_ignore_ascii_case(&key.subscription_id)
                        && group.eq_ignore_ascii_case(&key.resource_group)
                        && name.eq_ignore_ascii_case(&setting.name)
                };
                if !setting_id_parts(&setting.id).is_some_and(own) {
                    return Err(ProviderError::BadResponse {
                        what,
                        detail: format!(
                            "autoscale setting {}'s id `{}` is not that of a setting named so in resource group {}",
                            setting.name, setting.id, key.resource_group
                        ),
                    });
                }
                Ok(Some(setting))
            }
            _ => {
                let names: Vec<&str> =
                    matching.iter().filter_map(|s| s.get("name").and_then(Value::as_str)).collect();
                Err(ProviderError::BadResponse {
                    what,
                    detail: format!(
                        "{} autoscale settings ({}) target scale set {key}: which one acts is unknown",
                        matching.len(),
                        names.join(", ")
                    ),
                })
            }
        }
    }

    /// PUT `body` (the setting as read with the change applied) and read the answer back.
    pub(super) async fn put_autoscale_setting(
        &self,
        setting: &Setting,
        body: &Value,
    ) -> Result<Setting, ProviderError> {
        let what = format!("PUT autoscale setting {}", setting.name);
        let Some([subscription, group, name]) = setting_id_parts(&setting.id) else {
            return Err(ProviderError::BadResponse {
                what,
                detail: format!("the setting's id `{}` is not an autoscale setting's id", setting.id),
            });
        };
        let mut url = self.endpoint.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.clear().extend([
                "subscriptions",
                subscription,
                "resourceGroups",
                group,
                "providers",
                "Microsoft.Insights",
                "autoscalesettings",
                name,
            ]);
        }
        url.query_pairs_mut().append_pair("api-version", AUTOSCALE_API_VERSION);
        let body = serde_json::to_vec(body).map_err(|err| ProviderError::BadResponse {
            what: what.clone(),
            detail: format!("the body could not be encoded ({err})"),
        })?;
        let (status, _, answer) = self.send_on_origin(Method::Put, url, Some(body), &what).await?;
        if status != 200 && status != 201 {
            return Err(ProviderError::BadResponse {
                what,
                detail: format!(
                    "answered {status} where 200 or 201 (AutoscaleSettings_CreateOrUpdate) was expected"
                ),
            });
        }
        let answer: Value = serde_json::from_slice(&answer).map_err(|err| ProviderError::BadResponse {
            what: what.clone(),
            detail: crate::untrusted::not_json(&answer, &err),
        })?;
        parse_setting(&answer).map_err(|err| ProviderError::BadResponse { what, detail: err.to_string() })
    }

    /// Writes to the set and Autoscale's actions on it from `since` on, with who made them.
    pub(super) async fn activity_changes(
        &self,
        key: &ScaleSetKey,
        setting: Option<&Setting>,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<ScaleChange>, ProviderError> {
        let mut changes = Vec::new();
        let set_events = self.events(&scale_set_id(key), &format!("scale set {key}"), since, until).await?;
        changes.extend(activity::changes(key, setting.map(|s| s.name.as_str()), &set_events, false));
        if let Some(setting) = setting.filter(|s| !s.id.is_empty()) {
            let events = self
                .events(&setting.id, &format!("autoscale setting {}", setting.name), since, until)
                .await?;
            changes.extend(activity::changes(key, Some(&setting.name), &events, true));
        }
        Ok(changes)
    }

    async fn events(
        &self,
        resource_uri: &str,
        shown: &str,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<Value>, ProviderError> {
        let what = format!("GET Activity Log of {shown}");
        let stamp =
            |at: OffsetDateTime| at.to_offset(time::UtcOffset::UTC).format(&Rfc3339).unwrap_or_default();
        let filter = format!(
            "eventTimestamp ge '{}' and eventTimestamp le '{}' and resourceUri eq '{resource_uri}'",
            stamp(since),
            stamp(until)
        );
        let mut url = self.endpoint.clone();
        url.set_path(&format!(
            "/subscriptions/{}/providers/microsoft.insights/eventtypes/management/values",
            subscription_of(resource_uri)
        ));
        url.query_pairs_mut()
            .append_pair("api-version", ACTIVITY_API_VERSION)
            .append_pair("$filter", &filter);
        self.all_pages(url, &what, "eventDataId").await
    }

    /// Every item of a paged collection; `id_field` names what makes a page's items the same
    /// page again (a loop).
    async fn all_pages(&self, first: Url, what: &str, id_field: &str) -> Result<Vec<Value>, ProviderError> {
        let mut walk = PageWalk::new(&self.endpoint, &first, PAGE_BOUND);
        let mut url = first;
        let mut items = Vec::new();
        let mut page = 1u32;
        loop {
            let what_page = if page == 1 { what.to_string() } else { format!("{what} (page {page})") };
            let (status, _, body) =
                self.get_on_origin(url, &what_page).await.map_err(|cause| match page {
                    1 => cause,
                    _ => ProviderError::PartialListing { page, cause: Box::new(cause) },
                })?;
            if status != 200 {
                return Err(ProviderError::BadResponse {
                    what: what_page,
                    detail: format!("answered {status} where a page (200) was expected"),
                });
            }
            let parsed: Page = serde_json::from_slice(&body).map_err(|err| ProviderError::BadResponse {
                what: what_page.clone(),
                detail: crate::untrusted::not_json(&body, &err),
            })?;
            let stopped =
                |stop: PagingStop| ProviderError::Paging { what: what.to_string(), detail: said(&stop) };
            let ids = parsed
                .value
                .iter()
                .map(|item| item.get(id_field).and_then(Value::as_str).unwrap_or_default().to_string())
                .collect();
            walk.page(ids).map_err(stopped)?;
            items.extend(parsed.value);
            match walk.next(parsed.next_link.as_deref()).map_err(stopped)? {
                Some(next) => url = next,
                None => return Ok(items),
            }
            page += 1;
        }
    }
}

/// The subscription of an ARM id (`/subscriptions/{id}/…`).
fn subscription_of(resource_uri: &str) -> &str {
    let mut parts = resource_uri.trim_start_matches('/').split('/');
    match (parts.next(), parts.next()) {
        (Some(first), Some(id)) if first.eq_ignore_ascii_case("subscriptions") => id,
        _ => "",
    }
}

/// A paging stop in words for a collection that is not a VM list.
fn said(stop: &PagingStop) -> String {
    match stop {
        PagingStop::RepeatedPage { page, earlier } => {
            format!("page {page} lists the same items as page {earlier}: the server's paging loops")
        }
        PagingStop::TooManyPages { max, .. } => {
            format!("more than {max} pages: the server's paging does not end")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subscription_comes_from_the_resource_id() {
        assert_eq!(subscription_of("/subscriptions/abc/resourceGroups/rg/providers/x/y/z"), "abc");
        assert_eq!(subscription_of("/SUBSCRIPTIONS/abc"), "abc");
        assert_eq!(subscription_of("nonsense"), "");
    }

    const OWN: &str =
        "/subscriptions/sub-1/resourceGroups/rg-web/providers/microsoft.insights/autoscalesettings/web-autoscale";

    #[test]
    fn a_setting_id_gives_its_subscription_group_and_name() {
        assert_eq!(setting_id_parts(OWN), Some(["sub-1", "rg-web", "web-autoscale"]));
        let upper = OWN
            .replace("resourceGroups", "RESOURCEGROUPS")
            .replace("microsoft.insights", "Microsoft.Insights");
        assert_eq!(setting_id_parts(&upper), Some(["sub-1", "rg-web", "web-autoscale"]));
    }

    #[test]
    fn an_id_that_could_move_the_request_elsewhere_has_no_parts() {
        for id in [
            format!("{OWN}/../../../../../rg-prod/providers/microsoft.insights/autoscalesettings/prod"),
            OWN.replace("web-autoscale", ".."),
            OWN.replace("web-autoscale", "web%2Fautoscale"),
            OWN.replace("web-autoscale", "web?x=1"),
            OWN.replace("web-autoscale", "web#x"),
            OWN.replace("rg-web", "rg\\web"),
            OWN.replace("rg-web", ""),
            OWN.replace("autoscalesettings", "virtualMachineScaleSets"),
            OWN.trim_start_matches('/').to_string(),
            format!("{OWN}/"),
            String::new(),
        ] {
            assert_eq!(setting_id_parts(&id), None, "{id}");
        }
    }
}
