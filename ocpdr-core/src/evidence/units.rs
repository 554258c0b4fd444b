//! Times, durations and sizes as people write and read them: `26h` in, `1h 02m 03s` and
//! `1.5 GiB` out, and the time formats Ansible produces.

use super::error::{Error, Result};
use chrono::{DateTime, NaiveDateTime, Utc};
use std::time::Duration;

/// Reads a point in time: RFC 3339 (`2025-09-18T02:00:00Z`, any offset), or a time without an
/// offset, taken as UTC, with `T` or a space and optional fractions (what Ansible's
/// `now(utc=true)` prints: `2025-09-18 02:00:00.123456`). `None` if it is neither.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
}

/// Serde adapter for a time in any form [`parse_time`] reads; written as RFC 3339 UTC.
pub mod flexible_time {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes RFC 3339 UTC, with fractions of a second only when there are some.
    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    /// Reads what [`super::parse_time`] reads.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_time(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{text:?} is not a time: expected RFC 3339, e.g. 2025-09-18T02:00:00Z"
            ))
        })
    }
}

/// Reads a duration: whole seconds (`3600`) or numbers with units `s`, `m`, `h`, `d`, `w`,
/// optionally combined (`1h30m`, `2d 12h`).
pub fn parse_duration(text: &str) -> Result<Duration> {
    let invalid = || Error::InvalidDuration {
        text: text.to_owned(),
    };
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err(invalid());
    }
    if let Ok(seconds) = compact.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in compact.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(invalid()),
        };
        let n: u64 = digits.parse().map_err(|_| invalid())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(invalid)?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

/// A duration for people: `45.2s` under a minute, else `3m 07s`, `1h 02m 03s`, `2d 01h 00m`.
pub fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs < 60 {
        let precise = duration.as_secs_f64();
        return if precise < 10.0 && duration.subsec_millis() != 0 {
            format!("{precise:.2}s")
        } else if duration.subsec_millis() != 0 {
            format!("{precise:.1}s")
        } else {
            format!("{secs}s")
        };
    }
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h:02}h {m:02}m")
    } else if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else {
        format!("{m}m {s:02}s")
    }
}

/// A size for people in binary units: `512 B`, `1.5 KiB`, `2.0 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // Display only: the precision lost converting to f64 does not show at one decimal.
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_the_forms_ansible_writes() {
        let want = DateTime::parse_from_rfc3339("2025-09-18T02:00:00.5Z").unwrap();
        for text in [
            "2025-09-18T02:00:00.5Z",
            "2025-09-18T04:00:00.500+02:00",
            "2025-09-18 02:00:00.500000",
            "2025-09-18T02:00:00.5",
        ] {
            assert_eq!(parse_time(text), Some(want.with_timezone(&Utc)), "{text}");
        }
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2025-09-18"), None);
    }

    #[test]
    fn durations_parse() {
        let secs = |t: &str| parse_duration(t).unwrap().as_secs();
        assert_eq!(secs("26h"), 93_600);
        assert_eq!(secs("3600"), 3600);
        assert_eq!(secs("1h30m"), 5400);
        assert_eq!(secs("2d 12h"), 216_000);
        assert_eq!(secs("1w"), 604_800);
        for bad in ["", "h", "26x", "1.5h", "26h5", "-1h"] {
            assert_eq!(
                parse_duration(bad).unwrap_err().to_string(),
                format!(
                    "cannot read duration {bad:?}: expected seconds or a number with a unit, \
                     e.g. 26h, 90m, 2d, 1h30m"
                )
            );
        }
    }

    #[test]
    fn durations_and_sizes_print() {
        let d = |ms: u64| human_duration(Duration::from_millis(ms));
        assert_eq!(d(1_250), "1.25s");
        assert_eq!(d(45_200), "45.2s");
        assert_eq!(d(7_000), "7s");
        assert_eq!(d(187_000), "3m 07s");
        assert_eq!(d(3_723_000), "1h 02m 03s");
        assert_eq!(d(90_000_000), "1d 01h 00m");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(2 << 30), "2.0 GiB");
    }
}
