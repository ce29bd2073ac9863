//! Wall-clock time as the API writes it (`2026-06-01T16:40:24.446Z`), in milliseconds since
//! the Unix epoch. Hand-written (Howard Hinnant's civil-date algorithms) because the mock needs
//! only formatting and parsing of this one UTC format, not a date-time library.

pub const SECOND: i64 = 1_000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of a day number (the inverse of [`days_from_civil`]).
pub const fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
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

/// Milliseconds since the Unix epoch of a UTC wall-clock time.
pub const fn utc(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64) -> i64 {
    days_from_civil(year, month, day) * DAY + hour * HOUR + minute * MINUTE + second * SECOND
}

/// The parts of a UTC time.
#[derive(Debug)]
pub struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub milli: i64,
}

pub fn civil(ms: i64) -> Civil {
    let days = ms.div_euclid(DAY);
    let rem = ms.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: rem / HOUR,
        minute: rem % HOUR / MINUTE,
        second: rem % MINUTE / SECOND,
        milli: rem % SECOND,
    }
}

/// `2026-06-01T16:40:24.446Z`: the API's timestamp format.
pub fn iso_ms(ms: i64) -> String {
    let c = civil(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.milli
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z`; anything else is `None`.
pub fn parse_iso_ms(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (
        date_parts.next()??,
        date_parts.next()??,
        date_parts.next()??,
    );
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut time_parts = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (
        time_parts.next()??,
        time_parts.next()??,
        time_parts.next()??,
    );
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let digits: String = fraction.chars().chain("000".chars()).take(3).collect();
    let milli = digits.parse::<i64>().ok()?;
    Some(utc(year, month, day, hour, minute, second) + milli)
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_and_parsing_round_trip() {
        let ms = utc(2026, 6, 1, 16, 40, 24) + 446;
        assert_eq!(iso_ms(ms), "2026-06-01T16:40:24.446Z");
        assert_eq!(parse_iso_ms("2026-06-01T16:40:24.446Z"), Some(ms));
        assert_eq!(parse_iso_ms("2026-06-01T16:40:24Z"), Some(ms - 446));
        assert_eq!(
            parse_iso_ms("2024-02-29T00:00:00.5Z"),
            Some(utc(2024, 2, 29, 0, 0, 0) + 500)
        );
    }

    #[test]
    fn other_forms_are_refused() {
        for text in [
            "2026-06-01 16:40:24Z",
            "2026-06-01T16:40:24+02:00",
            "2026-13-01T00:00:00Z",
            "yesterday",
        ] {
            assert_eq!(parse_iso_ms(text), None, "{text}");
        }
    }
}
