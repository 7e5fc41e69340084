//! Resident identity numbers (GB 11643-1999): 6-digit region code, 8-digit birth date,
//! 3-digit sequence (odd = male) and an ISO 7064 MOD 11-2 check character.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::error::PiiError;

const LEN: usize = 18;
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

const MSG_LEN: &str = "身份证号码应为18位";
const MSG_DIGITS: &str = "身份证号码前17位应为数字";
const MSG_LAST: &str = "身份证号码最后一位应为数字或X";
const MSG_REGION: &str = "身份证号码地区码无效";
const MSG_BIRTH: &str = "身份证号码出生日期无效";
const MSG_CHECK: &str = "身份证号码校验位错误";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn label(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

/// A validated identity number, normalised to upper-case `X`. Holds the clear value, so it
/// has no `Display`/`Serialize` and its `Debug` is masked.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber {
    value: String,
    birth: NaiveDate,
}

/// Check character for the first 17 digits (each `0..=9`).
pub(crate) fn check_char(digits: &[u8; 17]) -> u8 {
    let sum: u32 = digits
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

impl IdNumber {
    /// Validates `s` (surrounding whitespace ignored). `today` comes from the caller's clock
    /// so that "birth date not in the future" is testable and follows the service clock.
    pub fn parse(s: &str, today: NaiveDate) -> Result<IdNumber, PiiError> {
        let s = s.trim();
        if s.chars().count() != LEN {
            return Err(PiiError::id(MSG_LEN));
        }
        let bytes = s.as_bytes();
        let mut digits = [0u8; 17];
        for (slot, b) in digits.iter_mut().zip(bytes) {
            if !b.is_ascii_digit() {
                return Err(PiiError::id(MSG_DIGITS));
            }
            *slot = b - b'0';
        }
        // The first 17 chars are ASCII, so the 18th starts at byte 17; if that byte is ASCII
        // the whole string is 18 bytes and slicing below stays on char boundaries.
        let last = match bytes.get(17) {
            Some(b) if b.is_ascii_digit() => *b,
            Some(b'X' | b'x') => b'X',
            _ => return Err(PiiError::id(MSG_LAST)),
        };
        if digits[0] == 0 {
            return Err(PiiError::id(MSG_REGION));
        }
        let num = |range: std::ops::Range<usize>| {
            digits[range]
                .iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(*d))
        };
        let year = i32::try_from(num(6..10)).map_err(|_| PiiError::id(MSG_BIRTH))?;
        let birth = NaiveDate::from_ymd_opt(year, num(10..12), num(12..14))
            .ok_or_else(|| PiiError::id(MSG_BIRTH))?;
        let earliest =
            NaiveDate::from_ymd_opt(1900, 1, 1).ok_or_else(|| PiiError::id(MSG_BIRTH))?;
        if birth < earliest || birth > today {
            return Err(PiiError::id(MSG_BIRTH));
        }
        if check_char(&digits) != last {
            return Err(PiiError::id(MSG_CHECK));
        }
        let mut value = String::with_capacity(LEN);
        value.push_str(&s[..17]);
        value.push(char::from(last));
        Ok(IdNumber { value, birth })
    }

    /// The clear value, for encryption and blind indexing only; never log or display it.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth
    }

    pub fn sex(&self) -> Sex {
        // The sequence digit's parity carries the sex; the string is validated ASCII.
        match self.value.as_bytes().get(16) {
            Some(d) if (d - b'0') % 2 == 1 => Sex::Male,
            _ => Sex::Female,
        }
    }

    /// Completed years on `date`; 0 if `date` is before the birth date. Someone born on
    /// 29 February completes a year on 1 March in common years.
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        let b = self.birth;
        let mut years = date.year() - b.year();
        if (date.month(), date.day()) < (b.month(), b.day()) {
            years -= 1;
        }
        u32::try_from(years).unwrap_or(0)
    }

    /// First 4 + 10 `*` + last 4, e.g. `4405**********123X`.
    pub fn masked(&self) -> String {
        // ASCII only, so byte slicing is on char boundaries.
        format!(
            "{}{}{}",
            &self.value[..4],
            "*".repeat(10),
            &self.value[14..]
        )
    }
}

impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("IdNumber").field(&self.masked()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn today() -> NaiveDate {
        d(2025, 9, 1)
    }

    /// Appends the check character to 17 digits, independently of `check_char`.
    fn complete(first17: &str) -> String {
        assert_eq!(first17.len(), 17);
        let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = first17
            .chars()
            .zip(w)
            .map(|(c, w)| c.to_digit(10).unwrap() * w)
            .sum();
        let check = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize];
        format!("{first17}{check}")
    }

    fn err_msg(s: &str) -> String {
        match IdNumber::parse(s, today()) {
            Err(PiiError::InvalidIdNumber(m)) => m,
            other => panic!("expected InvalidIdNumber for {s}, got {other:?}"),
        }
    }

    #[test]
    fn public_test_vector_is_valid_female_1949() {
        let id = IdNumber::parse("11010519491231002X", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), d(1949, 12, 31));
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.sex().label(), "女");
    }

    #[test]
    fn lowercase_x_is_normalised_and_whitespace_trimmed() {
        let id = IdNumber::parse("  11010519491231002x\n", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn constructed_zhongshan_number_parses_with_birth_sex_and_age() {
        let s = complete("44200020150615123");
        let id = IdNumber::parse(&s, today()).unwrap();
        assert_eq!(id.as_str(), s);
        assert_eq!(id.birth_date(), d(2015, 6, 15));
        assert_eq!(id.sex(), Sex::Male);
        assert_eq!(id.sex().label(), "男");
        assert_eq!(id.age_on(d(2024, 6, 14)), 8);
        assert_eq!(id.age_on(d(2024, 6, 15)), 9);
        assert_eq!(id.age_on(d(2015, 6, 15)), 0);
        assert_eq!(id.age_on(d(2010, 1, 1)), 0);
    }

    #[test]
    fn check_char_helper_agrees_with_every_residue() {
        // Vary the last digit so all eleven check characters, including X, are exercised.
        let mut seen = std::collections::HashSet::new();
        for seq in 0..1000 {
            let s = complete(&format!("44200020150615{seq:03}"));
            let id = IdNumber::parse(&s, today()).unwrap();
            seen.insert(id.as_str().chars().last().unwrap());
        }
        assert_eq!(seen.len(), 11);
    }

    #[test]
    fn leap_day_birthday_counts_on_first_of_march() {
        let id = IdNumber::parse(&complete("44200020120229002"), today()).unwrap();
        assert_eq!(id.birth_date(), d(2012, 2, 29));
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.age_on(d(2021, 2, 28)), 8);
        assert_eq!(id.age_on(d(2021, 3, 1)), 9);
        assert_eq!(id.age_on(d(2024, 2, 29)), 12);
    }

    #[test]
    fn wrong_check_char_is_rejected() {
        let good = complete("44200020150615123");
        let last = good.chars().last().unwrap();
        let wrong = if last == '0' { '1' } else { '0' };
        let bad = format!("{}{}", &good[..17], wrong);
        assert_eq!(err_msg(&bad), "身份证号码校验位错误");
        assert_eq!(err_msg("110105194912310021"), "身份证号码校验位错误");
    }

    #[test]
    fn impossible_dates_are_rejected() {
        assert_eq!(
            err_msg(&complete("44200020150230123")),
            "身份证号码出生日期无效"
        );
        assert_eq!(
            err_msg(&complete("44200020151301123")),
            "身份证号码出生日期无效"
        );
        assert_eq!(
            err_msg(&complete("44200020150600123")),
            "身份证号码出生日期无效"
        );
        assert_eq!(
            err_msg(&complete("44200018991231123")),
            "身份证号码出生日期无效"
        );
        // 2013 is not a leap year.
        assert_eq!(
            err_msg(&complete("44200020130229123")),
            "身份证号码出生日期无效"
        );
    }

    #[test]
    fn future_birth_date_is_rejected_but_today_is_accepted() {
        assert_eq!(
            err_msg(&complete("44200020250902123")),
            "身份证号码出生日期无效"
        );
        assert!(IdNumber::parse(&complete("44200020250901123"), today()).is_ok());
        assert!(IdNumber::parse(&complete("44200019000101123"), today()).is_ok());
    }

    #[test]
    fn wrong_length_and_characters_are_rejected() {
        assert_eq!(err_msg("44200020150615123"), "身份证号码应为18位");
        assert_eq!(err_msg(""), "身份证号码应为18位");
        assert_eq!(err_msg("1101051949123100200"), "身份证号码应为18位");
        assert_eq!(err_msg("4420002015061512AB"), "身份证号码前17位应为数字");
        assert_eq!(err_msg("ABCDEFGHIJKLMNOPQR"), "身份证号码前17位应为数字");
        assert_eq!(
            err_msg("44200020150615123Y"),
            "身份证号码最后一位应为数字或X"
        );
        // 18 chars but not 18 bytes: must not be accepted or sliced mid-character.
        assert_eq!(
            err_msg("44200020150615123中"),
            "身份证号码最后一位应为数字或X"
        );
        assert_eq!(
            err_msg("４４２０００２０１５０６１５１２３４"),
            "身份证号码前17位应为数字"
        );
    }

    #[test]
    fn zero_leading_region_is_rejected() {
        assert_eq!(
            err_msg(&complete("04200020150615123")),
            "身份证号码地区码无效"
        );
    }

    #[test]
    fn errors_never_echo_the_input() {
        let bad = format!("{}0", &complete("44200020150615123")[..17]);
        let e = IdNumber::parse(&bad, today()).unwrap_err();
        assert!(!format!("{e} {e:?}").contains("442000"));
    }

    #[test]
    fn masked_form_and_debug_hide_the_middle() {
        let id = IdNumber::parse("11010519491231002X", today()).unwrap();
        assert_eq!(id.masked(), "1101**********002X");
        let s = complete("44050020150615123");
        let id = IdNumber::parse(&s, today()).unwrap();
        assert_eq!(id.masked(), format!("4405**********123{}", &s[17..]));
        assert_eq!(id.masked().chars().count(), 18);
        let dbg = format!("{id:?} {id:#?}");
        assert!(!dbg.contains(&s), "{dbg}");
        assert!(!dbg.contains("20150615"), "{dbg}");
        assert!(dbg.contains(&id.masked()));
    }

    #[test]
    fn sex_serialises_lowercase() {
        assert_eq!(serde_json::to_string(&Sex::Male).unwrap(), "\"male\"");
        assert_eq!(
            serde_json::from_str::<Sex>("\"female\"").unwrap(),
            Sex::Female
        );
    }
}
