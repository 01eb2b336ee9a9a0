//! Wall-clock instants as vidpipe stores and shows them.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in epoch milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// An epoch-millisecond instant as RFC 3339 in UTC with exactly three fractional digits
/// (`2026-11-21T10:00:00.120Z`), so that the strings sort as the instants do.
pub fn rfc3339_ms(ms: u64) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_have_a_fixed_width_and_sort_as_strings() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_795_194_000_120), "2026-11-20T17:00:00.120Z");
        let instants = [
            1_795_194_000_000u64,
            1_795_194_000_050,
            1_795_194_000_100,
            1_795_194_000_150,
            1_795_194_001_000,
        ];
        for pair in instants.windows(2) {
            assert!(rfc3339_ms(pair[0]) < rfc3339_ms(pair[1]), "{pair:?}");
        }
    }
}
