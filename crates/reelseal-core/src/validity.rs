//! Validity windows and the times they are written in.
//!
//! One [`Validity`] type serves grants, access codes, the ledger, the CLI and the key
//! server's admin API, so the window rules live here only: a window may be open at either
//! end, both ends are inclusive, and it never closes before it opens (the constructor
//! refuses that). Times are Unix seconds (UTC); [`parse_time`] reads what people type.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};

use crate::{Error, Result};

/// Where a window stands at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// Inside the window.
    Open,
    /// Before `not_before` (the time it opens).
    NotYet(i64),
    /// After `not_after` (the time it closed).
    Expired(i64),
}

/// A window of validity: not before / not after, each optional, both inclusive, and
/// never closing before it opens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Validity {
    not_before: Option<i64>,
    not_after: Option<i64>,
}

impl Validity {
    /// Open at both ends.
    pub const ALWAYS: Validity = Validity {
        not_before: None,
        not_after: None,
    };

    /// A window, refused if it closes before it opens.
    pub fn new(not_before: Option<i64>, not_after: Option<i64>) -> Result<Self> {
        if let (Some(a), Some(b)) = (not_before, not_after) {
            if a > b {
                return Err(Error::malformed(
                    "validity window",
                    format!(
                        "it closes ({}) before it opens ({})",
                        fmt_time(b),
                        fmt_time(a)
                    ),
                ));
            }
        }
        Ok(Validity {
            not_before,
            not_after,
        })
    }

    /// Read a window as people type it (see [`parse_time`]); empty strings mean "open".
    /// A plain date as the end means the end of that day.
    pub fn parse(not_before: Option<&str>, not_after: Option<&str>) -> Result<Self> {
        let nb = not_before
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_time(s, End::Start))
            .transpose()?;
        let na = not_after
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_time(s, End::Finish))
            .transpose()?;
        Self::new(nb, na)
    }

    /// A window of `duration` seconds from `start` (or from `now` when open at the start):
    /// `--valid-for 7d`.
    pub fn lasting(start: Option<i64>, duration: i64, now: i64) -> Result<Self> {
        let from = start.unwrap_or(now);
        Self::new(start, Some(from.saturating_add(duration)))
    }

    /// Fill the ends this window leaves open from `default`, keeping the result valid.
    pub fn or(self, default: Validity) -> Result<Self> {
        Self::new(
            self.not_before.or(default.not_before),
            self.not_after.or(default.not_after),
        )
    }

    /// Start (inclusive), if any.
    pub fn not_before(&self) -> Option<i64> {
        self.not_before
    }

    /// End (inclusive), if any.
    pub fn not_after(&self) -> Option<i64> {
        self.not_after
    }

    /// Where `now` falls: the one window check used everywhere.
    pub fn check(&self, now: i64) -> Window {
        match (self.not_before, self.not_after) {
            (Some(a), _) if now < a => Window::NotYet(a),
            (_, Some(b)) if now > b => Window::Expired(b),
            _ => Window::Open,
        }
    }

    /// `2027-03-01T00:00:00Z … 2027-03-31T23:59:59Z`, `- … 2027-03-31T23:59:59Z`, or `always`.
    pub fn describe(&self) -> String {
        match (self.not_before, self.not_after) {
            (None, None) => "always".into(),
            (a, b) => format!(
                "{} … {}",
                a.map(fmt_time).unwrap_or_else(|| "-".into()),
                b.map(fmt_time).unwrap_or_else(|| "-".into())
            ),
        }
    }
}

/// Which end of a window a plain date stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// 00:00:00 UTC.
    Start,
    /// 23:59:59 UTC (windows are inclusive).
    Finish,
}

/// Parse what people type: RFC 3339 with a zone (`2027-03-01T09:00:00Z`,
/// `2027-03-01T09:00:00+01:00`), a local date and time (`2027-03-01 09:00`,
/// `2027-03-01T09:00:30`, in this machine's time zone), or a plain date (`2027-03-01`,
/// the whole day in UTC).
pub fn parse_time(s: &str, end: End) -> Result<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp());
    }
    for f in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return match chrono::Local.from_local_datetime(&naive) {
                chrono::LocalResult::Single(t) => Ok(t.timestamp()),
                chrono::LocalResult::Ambiguous(a, b) => Ok(match end {
                    End::Start => a.timestamp().min(b.timestamp()),
                    End::Finish => a.timestamp().max(b.timestamp()),
                }),
                chrono::LocalResult::None => Err(Error::malformed(
                    "time",
                    format!("{s:?} does not exist in this machine's time zone (a daylight-saving gap); give a zone, e.g. {s}Z"),
                )),
            };
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let t = match end {
            End::Start => NaiveTime::from_hms_opt(0, 0, 0),
            End::Finish => NaiveTime::from_hms_opt(23, 59, 59),
        }
        .expect("valid time");
        return Ok(Utc.from_utc_datetime(&d.and_time(t)).timestamp());
    }
    Err(Error::malformed(
        "time",
        format!("cannot read {s:?}: use a date like 2027-03-01 (UTC), a local time like \"2027-03-01 09:00\", or RFC 3339 like 2027-03-01T09:00:00+01:00"),
    ))
}

/// Format Unix seconds as RFC 3339 UTC (`2027-03-01T09:00:00Z`).
pub fn fmt_time(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| t.to_string())
}

/// Unix seconds in this machine's time zone, for people: `Mon 1 Mar 2027 10:00 +01:00`.
pub fn fmt_local(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| {
            d.with_timezone(&chrono::Local)
                .format("%a %-d %b %Y %H:%M %:z")
                .to_string()
        })
        .unwrap_or_else(|| t.to_string())
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_never_closes_before_it_opens() {
        assert!(Validity::new(Some(2), Some(1)).is_err());
        assert!(Validity::parse(Some("2027-03-02"), Some("2027-03-01")).is_err());
        let one_day = Validity::parse(Some("2027-03-01"), Some("2027-03-01")).unwrap();
        assert_eq!(
            one_day.not_after().unwrap() - one_day.not_before().unwrap(),
            86_399
        );
    }

    #[test]
    fn both_ends_are_inclusive() {
        let w = Validity::new(Some(10), Some(20)).unwrap();
        assert_eq!(w.check(9), Window::NotYet(10));
        assert_eq!(w.check(10), Window::Open);
        assert_eq!(w.check(20), Window::Open);
        assert_eq!(w.check(21), Window::Expired(20));
        assert_eq!(Validity::ALWAYS.check(i64::MIN), Window::Open);
    }

    #[test]
    fn defaults_fill_open_ends_and_stay_valid() {
        let d = Validity::new(Some(10), Some(20)).unwrap();
        assert_eq!(
            Validity::new(None, Some(15)).unwrap().or(d).unwrap(),
            Validity::new(Some(10), Some(15)).unwrap()
        );
        assert!(Validity::new(Some(30), None).unwrap().or(d).is_err());
    }

    #[test]
    fn local_times_and_durations() {
        // A zone given wins; a local time is this machine's (TZ may be anything here).
        let z = parse_time("2027-03-01T09:00:00+01:00", End::Start).unwrap();
        assert_eq!(fmt_time(z), "2027-03-01T08:00:00Z");
        let local = parse_time("2027-03-01 09:00", End::Start).unwrap();
        let expect = chrono::Local
            .from_local_datetime(
                &chrono::NaiveDate::from_ymd_opt(2027, 3, 1)
                    .unwrap()
                    .and_hms_opt(9, 0, 0)
                    .unwrap(),
            )
            .single()
            .unwrap()
            .timestamp();
        assert_eq!(local, expect);
        let w = Validity::lasting(Some(100), 7 * 86_400, 0).unwrap();
        assert_eq!(
            (w.not_before(), w.not_after()),
            (Some(100), Some(100 + 7 * 86_400))
        );
        assert_eq!(
            Validity::lasting(None, 10, 50).unwrap().not_after(),
            Some(60)
        );
    }

    #[test]
    fn times_round_trip() {
        let t = parse_time("2027-03-01T09:00:00Z", End::Start).unwrap();
        assert_eq!(fmt_time(t), "2027-03-01T09:00:00Z");
        assert!(parse_time("tomorrow", End::Start).is_err());
    }
}
