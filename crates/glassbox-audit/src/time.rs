//! Wall-clock time as Unix milliseconds (UTC), RFC 3339 formatting and parsing for `--from`/`--to`.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

// Howard Hinnant's civil-from-days / days-from-civil algorithms (public domain).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats Unix milliseconds as RFC 3339 UTC with milliseconds: `2026-11-25T18:20:03.123Z`.
pub fn format_rfc3339(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// Which end of a period a bare date (`2026-11-25`) stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateEnd {
    /// The first millisecond of the day (for `--from`).
    Start,
    /// The first millisecond of the next day, exclusive (for `--to`: the whole day is included).
    End,
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]]` with `Z` or `±HH:MM`, into Unix ms.
///
/// # Errors
/// A message naming the part that is wrong.
pub fn parse_time(s: &str, end: DateEnd) -> Result<i64, String> {
    let s = s.trim();
    let bad = |what: &str| {
        format!("{s:?}: {what} (expected 2026-11-25 or 2026-11-25T18:20:00Z or 2026-11-25T19:20:00+01:00)")
    };
    let num = |part: &str, what: &str| -> Result<i64, String> {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(what));
        }
        part.parse::<i64>().map_err(|_| bad(what))
    };
    let (date, rest) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let (y, m, d) = match (dp.next(), dp.next(), dp.next(), dp.next()) {
        (Some(y), Some(m), Some(d), None) if y.len() == 4 => (
            num(y, "bad year")?,
            num(m, "bad month")?,
            num(d, "bad day")?,
        ),
        _ => return Err(bad("bad date")),
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad("month or day out of range"));
    }
    let day_ms = days_from_civil(y, m, d) * 86_400_000;
    let Some(rest) = rest else {
        return Ok(match end {
            DateEnd::Start => day_ms,
            DateEnd::End => day_ms + 86_400_000,
        });
    };
    let (clock, offset_ms) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let mut op = off[1..].split(':');
        let oh = num(op.next().unwrap_or(""), "bad offset hours")?;
        let om = num(op.next().unwrap_or("0"), "bad offset minutes")?;
        (c, sign * (oh * 3_600_000 + om * 60_000))
    } else {
        return Err(bad("missing time zone (Z or ±HH:MM)"));
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (clock, None),
    };
    let mut tp = hms.split(':');
    let h = num(tp.next().unwrap_or(""), "bad hour")?;
    let mi = num(tp.next().unwrap_or(""), "bad minute")?;
    let sec = match tp.next() {
        Some(x) => num(x, "bad second")?,
        None => 0,
    };
    if tp.next().is_some() || h > 23 || mi > 59 || sec > 60 {
        return Err(bad("bad time of day"));
    }
    let milli = match frac {
        Some(f) => {
            num(f, "bad fraction of a second")?;
            let mut digits: String = f.chars().take(3).collect();
            while digits.len() < 3 {
                digits.push('0');
            }
            num(&digits, "bad fraction of a second")?
        }
        None => 0,
    };
    Ok(day_ms + h * 3_600_000 + mi * 60_000 + sec * 1000 + milli - offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let cases = [
            ("1970-01-01T00:00:00Z", 0),
            ("2026-11-25T18:20:03.123Z", 1_795_630_803_123),
            ("2026-11-25T19:20:03.123+01:00", 1_795_630_803_123),
            ("2000-02-29T12:00:00Z", 951_825_600_000),
            ("1969-12-31T23:59:59.999Z", -1),
        ];
        for (text, ms) in cases {
            assert_eq!(parse_time(text, DateEnd::Start), Ok(ms), "{text}");
        }
        assert_eq!(
            format_rfc3339(1_795_630_803_123),
            "2026-11-25T18:20:03.123Z"
        );
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            parse_time("2026-11-25", DateEnd::Start),
            Ok(1_795_564_800_000)
        );
        assert_eq!(
            parse_time("2026-11-25", DateEnd::End),
            Ok(1_795_651_200_000)
        );
    }

    #[test]
    fn rejects_bad_times() {
        for bad in [
            "",
            "2026-13-01",
            "2026-11-25T25:00:00Z",
            "2026-11-25T10:00:00",
            "yesterday",
            "26-11-25",
        ] {
            assert!(parse_time(bad, DateEnd::Start).is_err(), "{bad:?} accepted");
        }
    }
}
