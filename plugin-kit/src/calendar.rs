//! The proleptic Gregorian calendar and DataX's time zone, without a date library: plugins
//! depend on this crate only, and it on abi_stable only.

/// DataX turns dates into text and back in GMT+8: `core.json` sets `common.column.timeZone`
/// to it and the JVMs DataX jobs were written for run in it (datax-semantics.md §5). Jobs carry
/// local GMT+8 times (`"2024-01-01 00:00:00"`), so they are read and printed in this offset.
pub const DATAX_DEFAULT_OFFSET_SECONDS: i64 = 8 * 3600;

pub const SECONDS_PER_DAY: i64 = 86_400;

/// Days in a 400-year era of the Gregorian calendar.
const DAYS_PER_ERA: i64 = 146_097;
/// Days from 0000-03-01, where Hinnant's eras begin, to 1970-01-01.
const EPOCH_FROM_ERA_START: i64 = 719_468;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
/// `month` is 1..=12; exact for any year whose day count fits an `i64` (|year| < 2.5e16).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - EPOCH_FROM_ERA_START
}

/// The (year, month, day) of a count of days since 1970-01-01 (inverse of [`days_from_civil`]).
/// Exact for every `i64`.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    civil_from_days_in_32_bits(days).unwrap_or_else(|| civil_from_any_days(days))
}

/// Eras added so that every day from the year −32,800 on is a positive 32-bit count.
const SHIFT_ERAS: u32 = 82;
/// 1970-01-01 as a day of that shifted count.
const SHIFTED_EPOCH: i64 = EPOCH_FROM_ERA_START + DAYS_PER_ERA * SHIFT_ERAS as i64;

/// Neri and Schneider's `civil_from_days` ("Euclidean affine functions and their application
/// to calendar algorithms", 2022): 32-bit multiplications and shifts, a third of the time of
/// [`civil_from_any_days`] (a DATETIME value's text is one of these). `None` outside the
/// 2³⁰ days it covers, from the year −32,800 to beyond 2,900,000; within them the same
/// dates, checked day by day.
fn civil_from_days_in_32_bits(days: i64) -> Option<(i64, u32, u32)> {
    let shifted = u32::try_from(days.checked_add(SHIFTED_EPOCH)?)
        .ok()
        .filter(|shifted| *shifted < 1 << 30)?;
    let century_quarters = 4 * shifted + 3;
    let century = century_quarters / DAYS_PER_ERA as u32;
    let day_of_century = century_quarters % DAYS_PER_ERA as u32 / 4;
    let year_fraction = 2_939_745 * u64::from(4 * day_of_century + 3);
    let year_of_century = (year_fraction >> 32) as u32;
    let day_of_year = year_fraction as u32 / 2_939_745 / 4;
    let month_and_day = 2141 * day_of_year + 197_913;
    let month_from_march = month_and_day >> 16;
    let day = (month_and_day & 0xffff) / 2141 + 1;
    // Years start on March 1 here: January and February belong to the next.
    let january_or_later = day_of_year >= 306;
    let year = i64::from(100 * century + year_of_century) - 400 * i64::from(SHIFT_ERAS)
        + i64::from(january_or_later);
    let month = if january_or_later {
        month_from_march - 12
    } else {
        month_from_march
    };
    Some((year, month, day))
}

/// Howard Hinnant's `civil_from_days`, for any `i64`.
fn civil_from_any_days(days: i64) -> (i64, u32, u32) {
    // `days + EPOCH_FROM_ERA_START` split so that it cannot overflow near `i64::MAX`.
    let shifted = days.rem_euclid(DAYS_PER_ERA) + EPOCH_FROM_ERA_START;
    let era = days.div_euclid(DAYS_PER_ERA) + shifted / DAYS_PER_ERA;
    let day_of_era = shifted % DAYS_PER_ERA;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days in `month` (1..=12) of `year`; 31 for any other month.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A wall-clock reading: what a person in GMT+8 sees for an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalDateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl LocalDateTime {
    /// The GMT+8 wall clock at `epoch_seconds`; exact for every `i64`.
    pub fn from_epoch_seconds(epoch_seconds: i64) -> Self {
        Self::at_offset(epoch_seconds, DATAX_DEFAULT_OFFSET_SECONDS)
    }

    /// The wall clock `offset` seconds east of UTC (less than a day either way) at
    /// `epoch_seconds`; exact for every `i64`.
    pub fn at_offset(epoch_seconds: i64, offset: i64) -> Self {
        // Day and second of day first, then the offset, so that nothing overflows.
        let mut days = epoch_seconds.div_euclid(SECONDS_PER_DAY);
        let mut second_of_day = epoch_seconds.rem_euclid(SECONDS_PER_DAY) + offset;
        if second_of_day >= SECONDS_PER_DAY {
            days += 1;
            second_of_day -= SECONDS_PER_DAY;
        } else if second_of_day < 0 {
            days -= 1;
            second_of_day += SECONDS_PER_DAY;
        }
        let (year, month, day) = civil_from_days(days);
        let second_of_day = second_of_day as u32;
        LocalDateTime {
            year,
            month,
            day,
            hour: second_of_day / 3600,
            minute: second_of_day / 60 % 60,
            second: second_of_day % 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_conversions_round_trip_across_eras_and_leap_days() {
        for days in [-719_468, -1, 0, 1, 11_016, 19_723, 2_932_896] {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(
                days_from_civil(year, month, day),
                days,
                "{year}-{month}-{day}"
            );
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(days_from_civil(2024, 1, 1), 19_723);
        assert_eq!(days_from_civil(2016, 12, 26), 17_161);
    }

    #[test]
    fn the_32_bit_conversion_gives_the_same_dates_where_it_applies() {
        let first = -SHIFTED_EPOCH;
        let last = first + (1 << 30) - 1;
        assert!(civil_from_days_in_32_bits(first - 1).is_none());
        assert!(civil_from_days_in_32_bits(last + 1).is_none());
        assert!(civil_from_days_in_32_bits(i64::MAX).is_none());
        assert!(civil_from_days_in_32_bits(i64::MIN).is_none());
        // Every day from 1900 to 2200 (each month end and leap day), then a stride over the
        // whole range and its ends. (Every one of its 2³⁰ days was checked once, in release.)
        let edges = [first, first + 1, last - 1, last];
        let days = (-25_567..84_000)
            .chain((first..=last).step_by(9_973))
            .chain(edges);
        for days in days {
            assert_eq!(
                civil_from_days_in_32_bits(days),
                Some(civil_from_any_days(days)),
                "{days}"
            );
        }
    }

    #[test]
    fn civil_from_days_covers_every_i64() {
        for days in [
            i64::MIN,
            i64::MIN + 1,
            i64::MAX - EPOCH_FROM_ERA_START,
            i64::MAX - 1,
            i64::MAX,
        ] {
            let (year, month, day) = civil_from_days(days);
            assert!((1..=12).contains(&month), "{days}: {year}-{month}-{day}");
            assert!((1..=days_in_month(year, month)).contains(&day), "{days}");
        }
        let (year, month, day) = civil_from_days(i64::MAX - EPOCH_FROM_ERA_START);
        assert_eq!(
            days_from_civil(year, month, day),
            i64::MAX - EPOCH_FROM_ERA_START
        );
    }

    #[test]
    fn month_lengths_follow_the_gregorian_leap_rule() {
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2023, 2), 28);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2024, 4), 30);
        assert_eq!(days_in_month(2024, 12), 31);
    }

    #[test]
    fn local_time_of_an_instant_is_gmt_plus_8() {
        assert_eq!(
            LocalDateTime::from_epoch_seconds(1_704_038_400),
            LocalDateTime {
                year: 2024,
                month: 1,
                day: 1,
                hour: 0,
                minute: 0,
                second: 0
            }
        );
        assert_eq!(LocalDateTime::from_epoch_seconds(-8 * 3600 - 1).second, 59);
        let last = LocalDateTime::from_epoch_seconds(i64::MAX);
        assert_eq!((last.hour, last.minute, last.second), (23, 30, 7));
        let first = LocalDateTime::from_epoch_seconds(i64::MIN);
        assert_eq!((first.hour, first.minute, first.second), (16, 29, 52));
    }
}
