//! Date formats the File service uses: RFC 1123 (`Last-Modified`, `x-ms-date`) and
//! ISO 8601 with seven fractional digits (`x-ms-file-*-time`, SAS `st`/`se`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2024-01-02T03:04:05.1234567Z`
pub fn iso7(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (y, mo, da) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{da:02}T{:02}:{:02}:{:02}.{:07}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        d.subsec_nanos() / 100
    )
}

/// RFC 1123 (`Mon, 01 Jan 2024 00:00:00 GMT`).
pub fn rfc1123(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

/// Parses the ISO 8601 forms SAS tokens and `x-ms-file-*-time` headers use:
/// `YYYY-MM-DD`, `YYYY-MM-DDThh:mmZ`, `YYYY-MM-DDThh:mm:ssZ`, `YYYY-MM-DDThh:mm:ss.fffffffZ`
/// (the `Z` may be omitted; the time is UTC).
pub fn parse_iso(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (date, time) = match s.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let mo: u32 = dp.next()?.parse().ok()?;
    let da: u32 = dp.next()?.parse().ok()?;
    if dp.next().is_some() || !(1..=12).contains(&mo) || !(1..=31).contains(&da) {
        return None;
    }
    let mut secs = days_from_civil(y, mo, da) * 86_400;
    let mut nanos = 0u32;
    if let Some(t) = time {
        let t = t.strip_suffix(['Z', 'z']).unwrap_or(t);
        let (hms, frac) = match t.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (t, None),
        };
        let parts: Vec<&str> = hms.split(':').collect();
        if parts.len() < 2 || parts.len() > 3 {
            return None;
        }
        let h: i64 = parts[0].parse().ok()?;
        let mi: i64 = parts[1].parse().ok()?;
        let se: i64 = match parts.get(2) {
            Some(p) => p.parse().ok()?,
            None => 0,
        };
        if h > 23 || mi > 59 || se > 60 {
            return None;
        }
        secs += h * 3600 + mi * 60 + se;
        if let Some(f) = frac {
            if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let mut digits: String = f.chars().take(9).collect();
            while digits.len() < 9 {
                digits.push('0');
            }
            nanos = digits.parse().ok()?;
        }
    }
    if secs < 0 {
        return None;
    }
    Some(UNIX_EPOCH + Duration::new(secs as u64, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip() {
        let t = UNIX_EPOCH + Duration::new(1_704_164_645, 123_456_700);
        assert_eq!(iso7(t), "2024-01-02T03:04:05.1234567Z");
        assert_eq!(parse_iso("2024-01-02T03:04:05.1234567Z"), Some(t));
        assert_eq!(
            parse_iso("2024-01-02T03:04:05Z"),
            Some(UNIX_EPOCH + Duration::from_secs(1_704_164_645))
        );
        assert_eq!(
            parse_iso("2024-01-02T03:04Z"),
            Some(UNIX_EPOCH + Duration::from_secs(1_704_164_640))
        );
        assert_eq!(
            parse_iso("2024-01-02"),
            Some(UNIX_EPOCH + Duration::from_secs(1_704_153_600))
        );
        assert_eq!(parse_iso("2024-13-02"), None);
        assert_eq!(parse_iso("garbage"), None);
        assert_eq!(iso7(UNIX_EPOCH), "1970-01-01T00:00:00.0000000Z");
    }

    #[test]
    fn rfc1123_format() {
        let t = UNIX_EPOCH + Duration::from_secs(1_704_067_200);
        assert_eq!(rfc1123(t), "Mon, 01 Jan 2024 00:00:00 GMT");
    }
}
