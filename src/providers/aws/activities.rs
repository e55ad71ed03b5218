//! Who changed a group's capacity and when: DescribeScalingActivities (newest first), read back to
//! the start of the guard's window. Each activity's `Cause` says what asked for it ("a user
//! request", "a monitor alarm … triggered policy X", "a scheduled action", an instance refresh,
//! "a difference between desired and actual capacity") and usually "from N to M".

use super::call::{sdk_failure, with_retry};
use crate::model::{ScaleChange, ScaleSetKey};
use crate::providers::ProviderError;
use crate::retry::{RequestKind, RetryPolicy};
use time::OffsetDateTime;

/// Activities per page (the API's maximum), and pages read at most.
const PAGE: i32 = 100;
const MAX_PAGES: usize = 10;

/// "from 2 to 4" in a cause: the capacity before and after. The desired capacity's change wins
/// over the instance count's when both are said.
pub(crate) fn capacities(cause: &str) -> (Option<u32>, Option<u32>) {
    let lower = cause.to_ascii_lowercase();
    let at = lower.find("desired capacity from").or_else(|| lower.find("capacity from"));
    let Some(at) = at else { return (None, None) };
    let rest = &lower[at..];
    let Some(from_at) = rest.find("from ") else { return (None, None) };
    let mut words = rest[from_at + 5..].split_whitespace();
    let number = |w: Option<&str>| w.and_then(|w| w.trim_end_matches(['.', ',']).parse::<u32>().ok());
    let from = number(words.next());
    let to = if words.next() == Some("to") { number(words.next()) } else { None };
    (from, to)
}

/// Who or what the cause names.
pub(crate) fn who(cause: &str) -> Option<String> {
    let lower = cause.to_ascii_lowercase();
    if let Some(at) = lower.find("triggered policy ") {
        let name: String = cause[at + 17..].split_whitespace().next().unwrap_or("").to_string();
        return Some(format!("scaling policy {name}"));
    }
    let known = [
        ("user request", "a user request"),
        ("scheduled action", "a scheduled action"),
        ("instance refresh", "an instance refresh"),
        ("health check", "a failed health check"),
        ("difference between desired and actual capacity", "Auto Scaling (reaching the desired capacity)"),
        ("warm pool", "the warm pool"),
    ];
    known.iter().find(|(needle, _)| lower.contains(needle)).map(|(_, said)| said.to_string())
}

fn datetime(value: &aws_sdk_autoscaling::primitives::DateTime) -> Option<OffsetDateTime> {
    let nanos = i128::from(value.secs()) * 1_000_000_000 + i128::from(value.subsec_nanos());
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

pub(crate) async fn read(
    client: &aws_sdk_autoscaling::Client,
    retry: &RetryPolicy,
    key: &ScaleSetKey,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Vec<ScaleChange>, ProviderError> {
    let mut changes = Vec::new();
    let mut token: Option<String> = None;
    for page in 1..=MAX_PAGES {
        let what = format!("DescribeScalingActivities {} (page {page})", key.name);
        let answer = with_retry(retry, RequestKind::Read, || {
            let request = client
                .describe_scaling_activities()
                .auto_scaling_group_name(&key.name)
                .max_records(PAGE)
                .set_next_token(token.clone());
            let what = what.clone();
            async move { request.send().await.map_err(|err| sdk_failure(&what, &err)) }
        })
        .await?;
        let mut older = false;
        for activity in answer.activities() {
            let Some(at) = activity.start_time().and_then(datetime) else { continue };
            if at < since {
                older = true;
                continue;
            }
            if at > until {
                continue;
            }
            let cause = activity.cause().unwrap_or_default();
            let (from, to) = capacities(cause);
            changes.push(ScaleChange { scale_set: key.clone(), at, from, to, by: who(cause) });
        }
        match answer.next_token() {
            _ if older => break,
            Some(next) if token.as_deref() == Some(next) => {
                return Err(ProviderError::Paging {
                    what,
                    detail: "the server sent the same NextToken again".into(),
                })
            }
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    changes.sort_by_key(|c| c.at);
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_say_who_and_from_what_to_what() {
        let user = "At 2026-11-29T20:40:45Z a user request explicitly set group desired capacity changing the desired capacity from 4 to 2.  At 2026-11-29T20:40:51Z an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from 4 to 2.";
        assert_eq!(capacities(user), (Some(4), Some(2)));
        assert_eq!(who(user).as_deref(), Some("a user request"));
        let alarm = "At 2026-11-29T10:00:00Z a monitor alarm TargetTracking-web-AlarmHigh in state ALARM triggered policy cpu-target changing the desired capacity from 2 to 3.";
        assert_eq!(capacities(alarm), (Some(2), Some(3)));
        assert_eq!(who(alarm).as_deref(), Some("scaling policy cpu-target"));
        let launch = "At 2026-11-29T10:00:00Z an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 1 to 3.";
        assert_eq!(capacities(launch), (Some(1), Some(3)));
        assert_eq!(who("something new"), None);
        assert_eq!(capacities("no numbers here"), (None, None));
    }
}
