//! Which profile is active at a given instant, and when that changes next.
//!
//! Order (Microsoft Learn, "Autoscale with multiple profiles"): the first fixed-date profile whose
//! window holds the instant; else the recurring profile that started most recently (a recurring
//! profile runs until the next recurring start, of itself or another: there is no end); else the
//! first default profile. Two recurring profiles starting at the same instant: the first listed
//! wins, as "only the first applicable profile is used".
//!
//! Wall-clock times become instants in the profile's time zone. Around a daylight-saving change a
//! start in the skipped hour happens that much later (02:30 on a spring-forward night is 03:30),
//! and a start in the repeated hour happens the first time: the "compatible" disambiguation of
//! RFC 5545 and Temporal, which `jiff` implements. Azure does not document its own choice.

use super::{Profile, Schedule};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::fmt;
use std::str::FromStr;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

/// At most this many upcoming schedule instants are tried when looking for the next change.
const MAX_CANDIDATES: usize = 5_000;

/// The profile in force and when another takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Active {
    /// Index into the setting's profiles.
    pub index: usize,
    /// The next instant at which a different profile (or none) applies; None when the schedule
    /// holds no such instant (a lone default profile, one weekly profile).
    pub next_change: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleError {
    UnknownTimeZone { profile: String, zone: String },
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownTimeZone { profile, zone } => write!(
                f,
                "profile \"{profile}\" names time zone \"{zone}\", which is neither a Windows nor an IANA time zone \
                 scaleguard knows"
            ),
        }
    }
}

impl std::error::Error for ScheduleError {}

/// A Windows time-zone name ("Pacific Standard Time", through CLDR's world-wide default mapping)
/// or, failing that, an IANA name ("Europe/Berlin").
pub fn resolve_time_zone(name: &str) -> Option<TimeZone> {
    let name = name.trim();
    if let Ok(windows) = windows_timezones::WindowsTimezone::from_str(name) {
        return TimeZone::get(windows.tzdb_id()).ok();
    }
    TimeZone::get(name).ok()
}

enum Compiled {
    Default,
    Fixed { start: Timestamp, end: Timestamp },
    Recurring { zone: TimeZone, days: Vec<time::Weekday>, hours: Vec<u8>, minutes: Vec<u8> },
}

/// The active profile of `profiles` at `at`, None when none applies (only fixed-date profiles,
/// none of them now).
pub fn active_profile(profiles: &[Profile], at: OffsetDateTime) -> Result<Option<Active>, ScheduleError> {
    let compiled = compile(profiles)?;
    let at = timestamp(at);
    let Some(index) = which(&compiled, at) else { return Ok(None) };
    let next_change = next_change(&compiled, at, Some(index)).map(offset_date_time);
    Ok(Some(Active { index, next_change }))
}

fn compile(profiles: &[Profile]) -> Result<Vec<Compiled>, ScheduleError> {
    let zone_of = |profile: &Profile, name: &str| {
        resolve_time_zone(name).ok_or_else(|| ScheduleError::UnknownTimeZone {
            profile: profile.display_name(),
            zone: name.to_string(),
        })
    };
    profiles
        .iter()
        .map(|profile| {
            Ok(match &profile.schedule {
                Schedule::Default => Compiled::Default,
                Schedule::FixedDate { time_zone, start, end } => {
                    let zone = match time_zone {
                        Some(name) => zone_of(profile, name)?,
                        None => TimeZone::UTC,
                    };
                    Compiled::Fixed {
                        start: wall_to_instant(&zone, *start),
                        end: wall_to_instant(&zone, *end),
                    }
                }
                Schedule::Recurring { time_zone, days, hours, minutes } => Compiled::Recurring {
                    zone: zone_of(profile, time_zone)?,
                    days: days.clone(),
                    hours: hours.clone(),
                    minutes: minutes.clone(),
                },
            })
        })
        .collect()
}

fn which(compiled: &[Compiled], at: Timestamp) -> Option<usize> {
    let fixed = compiled
        .iter()
        .position(|c| matches!(c, Compiled::Fixed { start, end } if *start <= at && at < *end));
    if fixed.is_some() {
        return fixed;
    }
    let mut latest: Option<(Timestamp, usize)> = None;
    for (index, profile) in compiled.iter().enumerate() {
        let Compiled::Recurring { zone, days, hours, minutes } = profile else { continue };
        let Some(start) = last_start(zone, days, hours, minutes, at) else { continue };
        // Strictly later only: on a tie the profile listed first keeps it.
        if latest.is_none_or(|(best, _)| start > best) {
            latest = Some((start, index));
        }
    }
    if let Some((_, index)) = latest {
        return Some(index);
    }
    compiled.iter().position(|c| matches!(c, Compiled::Default))
}

/// The latest start at or before `at` (one week back always holds one when days, hours and
/// minutes are set).
fn last_start(
    zone: &TimeZone,
    days: &[time::Weekday],
    hours: &[u8],
    minutes: &[u8],
    at: Timestamp,
) -> Option<Timestamp> {
    let today = local_date(zone, at)?;
    (0..=8i64)
        .filter_map(|back| today.checked_sub(Duration::days(back)))
        .flat_map(|date| starts_on(zone, date, days, hours, minutes))
        .filter(|start| *start <= at)
        .max()
}

/// Every start of the schedule on local `date` (none when it is not one of `days`).
fn starts_on(
    zone: &TimeZone,
    date: time::Date,
    days: &[time::Weekday],
    hours: &[u8],
    minutes: &[u8],
) -> Vec<Timestamp> {
    if !days.contains(&date.weekday()) {
        return Vec::new();
    }
    let mut starts = Vec::with_capacity(hours.len() * minutes.len());
    for hour in hours {
        for minute in minutes {
            if let Ok(time) = time::Time::from_hms(*hour, *minute, 0) {
                starts.push(wall_to_instant(zone, PrimitiveDateTime::new(date, time)));
            }
        }
    }
    starts
}

/// The first instant after `at` whose active profile differs from `current`.
fn next_change(compiled: &[Compiled], at: Timestamp, current: Option<usize>) -> Option<Timestamp> {
    let mut candidates: Vec<Timestamp> = Vec::new();
    let horizon = at.checked_add(jiff::SignedDuration::from_hours(24 * 8)).ok()?;
    for profile in compiled {
        match profile {
            Compiled::Default => {}
            Compiled::Fixed { start, end } => {
                candidates.extend([*start, *end].into_iter().filter(|t| *t > at))
            }
            Compiled::Recurring { zone, days, hours, minutes } => {
                let Some(first) = local_date(zone, at) else { continue };
                for ahead in 0..=9i64 {
                    let Some(date) = first.checked_add(Duration::days(ahead)) else { break };
                    candidates.extend(
                        starts_on(zone, date, days, hours, minutes)
                            .into_iter()
                            .filter(|t| *t > at && *t <= horizon),
                    );
                }
            }
        }
    }
    candidates.sort_unstable();
    candidates.dedup();
    candidates.into_iter().take(MAX_CANDIDATES).find(|candidate| which(compiled, *candidate) != current)
}

fn local_date(zone: &TimeZone, at: Timestamp) -> Option<time::Date> {
    let local = zone.to_datetime(at);
    let month = time::Month::try_from(u8::try_from(local.month()).ok()?).ok()?;
    time::Date::from_calendar_date(i32::from(local.year()), month, u8::try_from(local.day()).ok()?).ok()
}

/// A wall-clock time in `zone` as an instant: a time in a skipped hour is moved forward by the
/// gap, a repeated one is taken the first time ("compatible").
fn wall_to_instant(zone: &TimeZone, wall: PrimitiveDateTime) -> Timestamp {
    let civil = jiff::civil::DateTime::new(
        i16::try_from(wall.year()).unwrap_or(i16::MAX),
        wall.month() as i8,
        wall.day() as i8,
        wall.hour() as i8,
        wall.minute() as i8,
        wall.second() as i8,
        0,
    );
    civil
        .ok()
        .and_then(|civil| zone.to_ambiguous_timestamp(civil).compatible().ok())
        // Only dates outside jiff's range (years beyond ±9999) fail: far away either way.
        .unwrap_or(if wall.year() < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

fn timestamp(at: OffsetDateTime) -> Timestamp {
    Timestamp::from_nanosecond(at.unix_timestamp_nanos()).unwrap_or(Timestamp::MAX)
}

fn offset_date_time(at: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(at.as_nanosecond()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests;
