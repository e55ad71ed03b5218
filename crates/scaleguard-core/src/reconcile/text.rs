//! Small wording helpers shared by the rules, so every line reads the same way.

use crate::model::ScaleSetKey;
use time::OffsetDateTime;

/// `10:02:11` (UTC): evidence lines are read next to each other, so the date is noise.
pub(crate) fn clock(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second())
}

/// Whole seconds from `from` to `to`, never negative (a clock step back must not underflow).
pub(crate) fn secs_between(from: OffsetDateTime, to: OffsetDateTime) -> u64 {
    let secs = (to - from).whole_seconds();
    u64::try_from(secs).unwrap_or(0)
}

/// `45 s`, `5 min 3 s`, `2 h 10 min`.
pub(crate) fn duration(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 if secs.is_multiple_of(60) => format!("{} min", secs / 60),
        60..=3599 => format!("{} min {} s", secs / 60, secs % 60),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}

/// The first 8 characters of a vmId or thumbprint: enough to tell two apart on screen.
pub(crate) fn short_id(id: &str) -> String {
    let short: String = id.chars().take(8).collect();
    if short.len() < id.len() {
        format!("{short}…")
    } else {
        short
    }
}

/// A scale set's identity in an action id: the subscription is part of it, as two subscriptions
/// may each hold `rg-web/vmss-web`.
pub(crate) fn set_id(key: &ScaleSetKey) -> String {
    format!("{}/{}/{}/{}", key.provider, key.subscription_id, key.resource_group, key.name)
}

/// "web-3 (instance 3), vmss-web_4 (instance 4) and 2 more": the first few VMs by the name a
/// person knows them by.
pub(crate) fn vm_names(vms: &[&crate::model::Instance]) -> String {
    const SHOWN: usize = 3;
    let mut names: Vec<String> = vms
        .iter()
        .take(SHOWN)
        .map(|vm| {
            format!("{} (instance {})", vm.computer_name.as_deref().unwrap_or(&vm.name), vm.instance_id)
        })
        .collect();
    if vms.len() > SHOWN {
        names.push(format!("and {} more", vms.len() - SHOWN));
    }
    names.join(", ")
}

/// Evidence lists stay readable at 10,000 VMs: the first `MAX_LINES`, then a count of the rest.
pub(crate) const MAX_LINES: usize = 20;

pub(crate) fn capped(mut lines: Vec<String>) -> Vec<String> {
    if lines.len() > MAX_LINES {
        let more = lines.len() - MAX_LINES;
        lines.truncate(MAX_LINES);
        lines.push(format!("… and {more} more"));
    }
    lines
}

/// `capped` of the `count` lines `lines` would give, building only the lines shown.
pub(crate) fn capped_of(count: usize, lines: impl Iterator<Item = String>) -> Vec<String> {
    let mut shown: Vec<String> = lines.take(MAX_LINES).collect();
    if count > MAX_LINES {
        shown.push(format!("… and {} more", count - MAX_LINES));
    }
    shown
}

/// FNV-1a, 64 bit: a hash that is the same in every build and Rust release (std's is not promised
/// to be), so action ids survive an upgrade of the console between refreshes.
pub(crate) fn stable_hash<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for part in parts {
        // A separator byte that cannot occur in ids keeps ["ab","c"] apart from ["a","bc"].
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(300), "5 min");
        assert_eq!(duration(303), "5 min 3 s");
        assert_eq!(duration(7800), "2 h 10 min");
    }

    #[test]
    fn stable_hash_is_fixed_and_separates_parts() {
        assert_eq!(stable_hash(["a"]), stable_hash(["a"]));
        assert_ne!(stable_hash(["ab", "c"]), stable_hash(["a", "bc"]));
        // Pinned: a change here changes every deploy action id users may have selected.
        assert_eq!(stable_hash([]), "cbf29ce484222325");
    }

    #[test]
    fn capped_of_builds_the_lines_capped_keeps() {
        for count in [0, 1, MAX_LINES, MAX_LINES + 1, 3 * MAX_LINES] {
            let lines = || (0..count).map(|i| format!("line {i}"));
            let mut built = 0;
            let counted = lines().inspect(|_| built += 1);
            assert_eq!(capped_of(count, counted), capped(lines().collect()), "{count} lines");
            assert_eq!(built, count.min(MAX_LINES), "only the lines shown are built");
        }
    }

    #[test]
    fn clock_and_seconds_never_underflow() {
        let a = datetime!(2026-01-01 10:02:11 UTC);
        let b = datetime!(2026-01-01 10:07:30 UTC);
        assert_eq!(clock(a), "10:02:11");
        assert_eq!(secs_between(a, b), 319);
        assert_eq!(secs_between(b, a), 0);
        assert_eq!(short_id("1234567890ab"), "12345678…");
    }
}
