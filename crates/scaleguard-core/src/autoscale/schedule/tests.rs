use super::*;
use crate::autoscale::CapacityRange;
use proptest::prelude::*;
use time::macros::datetime;
use time::Weekday::{self, *};

const RANGE: CapacityRange = CapacityRange { minimum: 1, maximum: 5, default: 2 };

fn default(name: &str) -> Profile {
    Profile { name: name.into(), capacity: RANGE, schedule: Schedule::Default, scales_in: false }
}

fn weekly(name: &str, zone: &str, days: &[Weekday], hours: &[u8], minutes: &[u8]) -> Profile {
    Profile {
        name: name.into(),
        capacity: RANGE,
        schedule: Schedule::Recurring {
            time_zone: zone.into(),
            days: days.to_vec(),
            hours: hours.to_vec(),
            minutes: minutes.to_vec(),
        },
        scales_in: false,
    }
}

fn fixed(name: &str, zone: Option<&str>, start: PrimitiveDateTime, end: PrimitiveDateTime) -> Profile {
    Profile {
        name: name.into(),
        capacity: RANGE,
        schedule: Schedule::FixedDate { time_zone: zone.map(Into::into), start, end },
        scales_in: false,
    }
}

fn active_at(profiles: &[Profile], at: OffsetDateTime) -> Option<usize> {
    active_profile(profiles, at).unwrap().map(|a| a.index)
}

const WEEKDAYS: [Weekday; 5] = [Monday, Tuesday, Wednesday, Thursday, Friday];

/// A work week in London: "weekday" from 08:00, "evening" from 18:00, plus an unused default.
fn work_week() -> Vec<Profile> {
    vec![
        default("default"),
        weekly("weekday", "GMT Standard Time", &WEEKDAYS, &[8], &[0]),
        weekly("evening", "GMT Standard Time", &WEEKDAYS, &[18], &[0]),
    ]
}

#[test]
fn a_recurring_profile_runs_until_the_next_recurring_start() {
    // Monday 2026-01-05 10:00 UTC (London is on UTC in January).
    let active = active_profile(&work_week(), datetime!(2026-01-05 10:00 UTC)).unwrap().unwrap();
    assert_eq!(active, Active { index: 1, next_change: Some(datetime!(2026-01-05 18:00 UTC)) });
    // The evening profile has no end: it holds through the night and the weekend.
    assert_eq!(active_at(&work_week(), datetime!(2026-01-06 03:00 UTC)), Some(2));
    let saturday = active_profile(&work_week(), datetime!(2026-01-10 12:00 UTC)).unwrap().unwrap();
    assert_eq!(saturday, Active { index: 2, next_change: Some(datetime!(2026-01-12 08:00 UTC)) });
}

#[test]
fn with_recurring_profiles_the_default_profile_never_applies() {
    let profiles = vec![default("default"), weekly("sunday", "UTC", &[Sunday], &[0], &[0])];
    for at in
        [datetime!(2026-01-05 10:00 UTC), datetime!(2026-01-10 23:59 UTC), datetime!(2026-01-11 00:00 UTC)]
    {
        let active = active_profile(&profiles, at).unwrap().unwrap();
        assert_eq!(active, Active { index: 1, next_change: None }, "at {at}");
    }
}

#[test]
fn a_fixed_date_profile_comes_before_recurring_ones_in_its_own_time_zone() {
    let mut profiles = work_week();
    // Tokyo is UTC+9: 2026-01-05 09:00..12:00 local is 00:00..03:00 UTC.
    profiles.push(fixed(
        "sale",
        Some("Tokyo Standard Time"),
        datetime!(2026-01-05 09:00),
        datetime!(2026-01-05 12:00),
    ));
    assert_eq!(active_at(&profiles, datetime!(2026-01-04 23:59 UTC)), Some(2));
    let sale = active_profile(&profiles, datetime!(2026-01-05 00:00 UTC)).unwrap().unwrap();
    assert_eq!(sale, Active { index: 3, next_change: Some(datetime!(2026-01-05 03:00 UTC)) });
    assert_eq!(active_at(&profiles, datetime!(2026-01-05 03:00 UTC)), Some(2), "the end is exclusive");
}

#[test]
fn the_first_listed_of_two_applicable_profiles_wins() {
    let profiles = vec![
        fixed("a", None, datetime!(2026-01-01 00:00), datetime!(2026-02-01 00:00)),
        fixed("b", None, datetime!(2026-01-01 00:00), datetime!(2026-02-01 00:00)),
        weekly("c", "UTC", &[Monday], &[8], &[0]),
        weekly("d", "UTC", &[Monday], &[8], &[0]),
    ];
    assert_eq!(active_at(&profiles, datetime!(2026-01-05 09:00 UTC)), Some(0));
    assert_eq!(active_at(&profiles[2..], datetime!(2026-02-02 09:00 UTC)), Some(0), "a tie goes to c");
}

#[test]
fn only_a_default_profile_never_changes_and_only_past_fixed_dates_leave_none() {
    assert_eq!(
        active_profile(&[default("d")], datetime!(2026-01-05 10:00 UTC)).unwrap(),
        Some(Active { index: 0, next_change: None })
    );
    let past = fixed("past", None, datetime!(2025-01-01 00:00), datetime!(2025-01-02 00:00));
    assert_eq!(active_profile(&[past], datetime!(2026-01-05 10:00 UTC)).unwrap(), None);
}

#[test]
fn a_start_in_the_skipped_hour_happens_when_the_clock_has_jumped() {
    // US daylight saving starts 2026-03-08 at 02:00 PST (10:00 UTC): clocks show 03:00 PDT.
    // "night" starts Sundays at 02:30, a time that does not exist that day: it starts at 03:30
    // PDT (10:30 UTC), the skipped hour later.
    let profiles = vec![
        weekly("day", "Pacific Standard Time", &[Saturday], &[0], &[0]),
        weekly("night", "Pacific Standard Time", &[Sunday], &[2], &[30]),
    ];
    let before = active_profile(&profiles, datetime!(2026-03-08 10:00 UTC)).unwrap().unwrap();
    assert_eq!(before, Active { index: 0, next_change: Some(datetime!(2026-03-08 10:30 UTC)) });
    assert_eq!(active_at(&profiles, datetime!(2026-03-08 10:29:59 UTC)), Some(0));
    assert_eq!(active_at(&profiles, datetime!(2026-03-08 10:30 UTC)), Some(1));
    // A week earlier (PST, UTC-8) 02:30 is 10:30 UTC too; a week later (PDT, UTC-7) it is 09:30.
    assert_eq!(active_at(&profiles, datetime!(2026-03-15 09:30 UTC)), Some(1));
    assert_eq!(active_at(&profiles, datetime!(2026-03-15 09:29 UTC)), Some(0));
}

#[test]
fn a_start_in_the_repeated_hour_happens_the_first_time() {
    // US daylight saving ends 2026-11-01 at 02:00 PDT: 01:30 happens at 08:30 UTC, then again at
    // 09:30 UTC. The profile starts at the first.
    let profiles = vec![
        weekly("day", "Pacific Standard Time", &[Saturday], &[0], &[0]),
        weekly("night", "Pacific Standard Time", &[Sunday], &[1], &[30]),
    ];
    assert_eq!(active_at(&profiles, datetime!(2026-11-01 08:29 UTC)), Some(0));
    assert_eq!(active_at(&profiles, datetime!(2026-11-01 08:30 UTC)), Some(1));
    let next = active_profile(&profiles, datetime!(2026-11-01 08:30 UTC)).unwrap().unwrap().next_change;
    // Saturday 2026-11-07 00:00 PST is 08:00 UTC.
    assert_eq!(next, Some(datetime!(2026-11-07 08:00 UTC)));
}

#[test]
fn windows_iana_and_unknown_time_zone_names() {
    // W. Europe Standard Time is Berlin: 08:00 in January is 07:00 UTC, in July 06:00 UTC.
    let berlin = vec![
        weekly("night", "W. Europe Standard Time", &WEEKDAYS, &[20], &[0]),
        weekly("day", "W. Europe Standard Time", &WEEKDAYS, &[8], &[0]),
    ];
    assert_eq!(active_at(&berlin, datetime!(2026-01-05 06:59 UTC)), Some(0));
    assert_eq!(active_at(&berlin, datetime!(2026-01-05 07:00 UTC)), Some(1));
    assert_eq!(active_at(&berlin, datetime!(2026-07-06 06:00 UTC)), Some(1));
    let iana = vec![weekly("night", "Europe/Berlin", &WEEKDAYS, &[20], &[0]), berlin[1].clone()];
    assert_eq!(active_at(&iana, datetime!(2026-01-05 19:00 UTC)), Some(0));
    let mars = vec![weekly("weekday", "Mars Standard Time", &WEEKDAYS, &[8], &[0])];
    let err = active_profile(&mars, datetime!(2026-01-05 10:00 UTC)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "profile \"weekday\" names time zone \"Mars Standard Time\", which is neither a Windows nor an IANA \
         time zone scaleguard knows"
    );
}

#[test]
fn every_time_zone_the_spec_lists_resolves() {
    // The examples of valid time zones in autoscale_API.json (2022-10-01), TimeWindow.timeZone.
    let listed = "Dateline Standard Time, UTC-11, Hawaiian Standard Time, Alaskan Standard Time, Pacific Standard Time (Mexico), Pacific Standard Time, US Mountain Standard Time, Mountain Standard Time (Mexico), Mountain Standard Time, Central America Standard Time, Central Standard Time, Central Standard Time (Mexico), Canada Central Standard Time, SA Pacific Standard Time, Eastern Standard Time, US Eastern Standard Time, Venezuela Standard Time, Paraguay Standard Time, Atlantic Standard Time, Central Brazilian Standard Time, SA Western Standard Time, Pacific SA Standard Time, Newfoundland Standard Time, E. South America Standard Time, Argentina Standard Time, SA Eastern Standard Time, Greenland Standard Time, Montevideo Standard Time, Bahia Standard Time, UTC-02, Mid-Atlantic Standard Time, Azores Standard Time, Cape Verde Standard Time, Morocco Standard Time, UTC, GMT Standard Time, Greenwich Standard Time, W. Europe Standard Time, Central Europe Standard Time, Romance Standard Time, Central European Standard Time, W. Central Africa Standard Time, Namibia Standard Time, Jordan Standard Time, GTB Standard Time, Middle East Standard Time, Egypt Standard Time, Syria Standard Time, E. Europe Standard Time, South Africa Standard Time, FLE Standard Time, Turkey Standard Time, Israel Standard Time, Kaliningrad Standard Time, Libya Standard Time, Arabic Standard Time, Arab Standard Time, Belarus Standard Time, Russian Standard Time, E. Africa Standard Time, Iran Standard Time, Arabian Standard Time, Azerbaijan Standard Time, Russia Time Zone 3, Mauritius Standard Time, Georgian Standard Time, Caucasus Standard Time, Afghanistan Standard Time, West Asia Standard Time, Ekaterinburg Standard Time, Pakistan Standard Time, India Standard Time, Sri Lanka Standard Time, Nepal Standard Time, Central Asia Standard Time, Bangladesh Standard Time, N. Central Asia Standard Time, Myanmar Standard Time, SE Asia Standard Time, North Asia Standard Time, China Standard Time, North Asia East Standard Time, Singapore Standard Time, W. Australia Standard Time, Taipei Standard Time, Ulaanbaatar Standard Time, Tokyo Standard Time, Korea Standard Time, Yakutsk Standard Time, Cen. Australia Standard Time, AUS Central Standard Time, E. Australia Standard Time, AUS Eastern Standard Time, West Pacific Standard Time, Tasmania Standard Time, Magadan Standard Time, Vladivostok Standard Time, Russia Time Zone 10, Central Pacific Standard Time, Russia Time Zone 11, New Zealand Standard Time, UTC+12, Fiji Standard Time, Kamchatka Standard Time, Tonga Standard Time, Samoa Standard Time, Line Islands Standard Time";
    // Windows retired "Mid-Atlantic" and "Kamchatka" (CLDR no longer maps them).
    let retired = ["Mid-Atlantic Standard Time", "Kamchatka Standard Time"];
    let unknown: Vec<&str> = listed
        .split(", ")
        .filter(|name| resolve_time_zone(name).is_none() && !retired.contains(name))
        .collect();
    assert_eq!(unknown, Vec::<&str>::new());
}

// ---- properties ------------------------------------------------------------------------------

const ZONES: [&str; 7] = [
    "UTC",
    "Pacific Standard Time",
    "W. Europe Standard Time",
    "AUS Eastern Standard Time",
    "Tokyo Standard Time",
    "UTC-11",
    "Iran Standard Time",
];
/// Zones without daylight saving, where a start is plain arithmetic on minutes of the week.
const FIXED_OFFSETS: [(&str, i64); 3] = [("UTC", 0), ("Tokyo Standard Time", 9 * 60), ("UTC-11", -11 * 60)];

/// 2026-01-01 .. 2027-01-01, so every daylight-saving change of the year is covered.
fn any_instant() -> impl Strategy<Value = OffsetDateTime> {
    (1_767_225_600i64..1_798_761_600).prop_map(|s| OffsetDateTime::from_unix_timestamp(s).unwrap())
}

fn any_weekly(zones: &'static [&'static str]) -> impl Strategy<Value = Profile> {
    (
        proptest::sample::select(zones),
        proptest::sample::subsequence(
            vec![Sunday, Monday, Tuesday, Wednesday, Thursday, Friday, Saturday],
            1..=7,
        ),
        proptest::collection::btree_set(0u8..24, 1..3),
        proptest::collection::btree_set(0u8..60, 1..3),
        "[a-z]{1,6}",
    )
        .prop_map(|(zone, days, hours, minutes, name)| {
            weekly(
                &name,
                zone,
                &days,
                &hours.into_iter().collect::<Vec<_>>(),
                &minutes.into_iter().collect::<Vec<_>>(),
            )
        })
}

fn any_fixed() -> impl Strategy<Value = Profile> {
    (
        proptest::option::of(proptest::sample::select(&ZONES[..])),
        any_instant(),
        60i64..(10 * 86_400),
        "[a-z]{1,6}",
    )
        .prop_map(|(zone, start, length, name)| {
            let start = PrimitiveDateTime::new(start.date(), start.time());
            fixed(&name, zone, start, start + Duration::seconds(length))
        })
}

fn any_profile() -> impl Strategy<Value = Profile> {
    prop_oneof![
        1 => "[a-z]{1,6}".prop_map(|name| default(&name)),
        2 => any_fixed(),
        3 => any_weekly(&ZONES),
    ]
}

/// Minutes since Sunday 00:00 of a start, in a fixed-offset zone.
fn week_minute(day: Weekday, hour: u8, minute: u8) -> i64 {
    i64::from(day.number_days_from_sunday()) * 1440 + i64::from(hour) * 60 + i64::from(minute)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Fixed dates first (the first listed whose window holds the instant), then recurring, then
    /// default: the kind of the answer follows from which kinds apply.
    #[test]
    fn the_order_is_fixed_then_recurring_then_default(
        profiles in proptest::collection::vec(any_profile(), 1..6),
        at in any_instant(),
    ) {
        let chosen = active_profile(&profiles, at).unwrap().map(|a| a.index);
        let holds = |p: &Profile| match &p.schedule {
            Schedule::FixedDate { time_zone, start, end } => {
                let zone = time_zone.as_deref().map_or(TimeZone::UTC, |z| resolve_time_zone(z).unwrap());
                let t = timestamp(at);
                wall_to_instant(&zone, *start) <= t && t < wall_to_instant(&zone, *end)
            }
            _ => false,
        };
        let expected_kind = if let Some(first) = profiles.iter().position(holds) {
            prop_assert_eq!(chosen, Some(first));
            "fixed"
        } else if profiles.iter().any(|p| matches!(p.schedule, Schedule::Recurring { .. })) {
            "recurring"
        } else if let Some(first) = profiles.iter().position(|p| p.schedule == Schedule::Default) {
            prop_assert_eq!(chosen, Some(first));
            "default"
        } else {
            prop_assert_eq!(chosen, None);
            "none"
        };
        if expected_kind == "recurring" {
            let index = chosen.unwrap();
            let recurring = matches!(profiles[index].schedule, Schedule::Recurring { .. });
            prop_assert!(recurring, "profile {} is not recurring", index);
        }
    }

    /// Until the reported next change the same profile holds; at it, another one does.
    #[test]
    fn nothing_changes_before_the_next_change(
        profiles in proptest::collection::vec(any_profile(), 1..5),
        at in any_instant(),
        probes in proptest::collection::vec(0.0f64..1.0, 4),
    ) {
        let Some(active) = active_profile(&profiles, at).unwrap() else { return Ok(()) };
        let later = |t: OffsetDateTime| active_profile(&profiles, t).unwrap().map(|a| a.index);
        match active.next_change {
            Some(next) => {
                prop_assert!(next > at);
                prop_assert_ne!(later(next), Some(active.index));
                for probe in probes {
                    let t = at + (next - at - Duration::seconds(1)) * probe;
                    prop_assert_eq!(later(t), Some(active.index), "at {} (next change {})", t, next);
                }
            }
            None => {
                for probe in probes {
                    let t = at + Duration::days(30) * probe;
                    prop_assert_eq!(later(t), Some(active.index), "at {}", t);
                }
            }
        }
    }

    /// In zones without daylight saving the recurring answer matches plain arithmetic: the
    /// profile with the latest start (in minutes of the week, counting back from now) wins,
    /// the first listed on a tie.
    #[test]
    fn recurring_profiles_match_minutes_of_the_week(
        profiles in proptest::collection::vec(any_weekly(&["UTC", "Tokyo Standard Time", "UTC-11"]), 1..5),
        at in any_instant(),
    ) {
        let offset_of = |zone: &str| FIXED_OFFSETS.iter().find(|(z, _)| *z == zone).unwrap().1;
        let mut best: Option<(i64, usize)> = None;
        for (index, profile) in profiles.iter().enumerate() {
            let Schedule::Recurring { time_zone, days, hours, minutes } = &profile.schedule else { unreachable!() };
            let local = at + Duration::minutes(offset_of(time_zone));
            let now_minute = week_minute(local.weekday(), local.hour(), local.minute());
            let ago = days.iter()
                .flat_map(|d| hours.iter().flat_map(move |h| minutes.iter().map(move |m| week_minute(*d, *h, *m))))
                // Minutes since that start, seconds included (a start at the current minute is
                // `local.second()` seconds ago).
                .map(|start| (now_minute - start).rem_euclid(7 * 1440) * 60 + i64::from(local.second()))
                .min()
                .unwrap();
            if best.is_none_or(|(b, _)| ago < b) {
                best = Some((ago, index));
            }
        }
        prop_assert_eq!(active_profile(&profiles, at).unwrap().map(|a| a.index), best.map(|(_, i)| i));
    }
}
