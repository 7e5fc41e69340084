//! [`Money`]: an amount of yuan with exactly two decimal places, never negative.
//!
//! Owns the one representation of money in the domain (design.md "Money": `Decimal` yuan in
//! the domain, integer fen at the WeChat Pay boundary). Stored as `numeric(14,2)`.
//! Must never go through a float, and never hold a negative amount: direction is carried by
//! the debit or credit side of a ledger entry, not by a sign.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{DomainError, ErrorKind};

/// An amount of yuan: exactly two decimal places, `0.00 ..= Money::MAX_TOTAL`.
///
/// The constructors for single amounts ([`Money::from_fen`], [`Money::parse`]) refuse
/// anything above [`Money::max`] (1,000,000.00 yuan: no family pays that for after-school
/// care, so such a figure is a typo or an attack). Totals and balances (a day's settlement of
/// the whole street, an account balance) go up to [`Money::MAX_TOTAL_FEN`] fen, which still
/// fits `numeric(14,2)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

/// Why a figure is not a [`Money`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("not an amount of yuan: {0:?}")]
    Format(String),
    #[error("amount is negative")]
    Negative,
    #[error("amount has more than two decimal places")]
    TooManyDecimals,
    #[error("amount is above the limit of {limit} yuan")]
    TooLarge { limit: Money },
}

impl MoneyError {
    /// Stable machine-readable code; never rename an existing one.
    pub fn code(&self) -> &'static str {
        match self {
            MoneyError::Format(_) => "MONEY_FORMAT",
            MoneyError::Negative => "MONEY_NEGATIVE",
            MoneyError::TooManyDecimals => "MONEY_TOO_MANY_DECIMALS",
            MoneyError::TooLarge { .. } => "MONEY_TOO_LARGE",
        }
    }
}

impl DomainError for MoneyError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Unprocessable
    }

    fn code(&self) -> &'static str {
        MoneyError::code(self)
    }

    fn user_message(&self) -> String {
        match self {
            MoneyError::Format(_) => "金额格式错误，应为如 12.50 的元金额".to_owned(),
            MoneyError::Negative => "金额不能为负数".to_owned(),
            MoneyError::TooManyDecimals => "金额最多保留两位小数（精确到分）".to_owned(),
            MoneyError::TooLarge { limit } => format!("金额超出上限 {limit} 元"),
        }
    }
}

impl Money {
    /// 0.00 yuan.
    pub const ZERO: Money = Money(Decimal::from_parts(0, 0, 0, false, 2));
    /// The largest single amount, in fen (1,000,000.00 yuan).
    pub const MAX_FEN: i64 = 100_000_000;
    /// The largest total or balance, in fen (999,999,999,999.99 yuan, `numeric(14,2)`).
    pub const MAX_TOTAL_FEN: i64 = 99_999_999_999_999;

    /// The largest single amount: 1,000,000.00 yuan.
    pub fn max() -> Money {
        Money::of_fen(Self::MAX_FEN)
    }

    // Callers have checked 0 <= fen <= MAX_TOTAL_FEN.
    fn of_fen(fen: i64) -> Money {
        Money(Decimal::new(fen, 2))
    }

    fn bounded(fen: i64, max_fen: i64) -> Result<Money, MoneyError> {
        if fen < 0 {
            return Err(MoneyError::Negative);
        }
        if fen > max_fen {
            return Err(MoneyError::TooLarge {
                limit: Money::of_fen(max_fen),
            });
        }
        Ok(Money::of_fen(fen))
    }

    /// A single amount from integer fen (the WeChat Pay boundary).
    pub fn from_fen(fen: i64) -> Result<Money, MoneyError> {
        Self::bounded(fen, Self::MAX_FEN)
    }

    /// A total or balance from integer fen (bank settlements, payouts, sums).
    pub fn total_from_fen(fen: i64) -> Result<Money, MoneyError> {
        Self::bounded(fen, Self::MAX_TOTAL_FEN)
    }

    /// A single amount written as yuan: digits, optionally `.` and one or two digits
    /// (`"12"`, `"12.5"`, `"12.50"`). No sign, exponent, separators or spaces.
    pub fn parse(s: &str) -> Result<Money, MoneyError> {
        Self::parse_bounded(s, Self::MAX_FEN)
    }

    /// As [`Money::parse`] with the bound of totals (used when reading stored figures back).
    pub fn parse_total(s: &str) -> Result<Money, MoneyError> {
        Self::parse_bounded(s, Self::MAX_TOTAL_FEN)
    }

    fn parse_bounded(s: &str, max_fen: i64) -> Result<Money, MoneyError> {
        let format = || MoneyError::Format(s.chars().take(40).collect());
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if let Some(rest) = s.strip_prefix('-') {
            // Refuse a negative number as such, anything else as a format error.
            return Err(if Self::parse_bounded(rest, i64::MAX).is_ok() {
                MoneyError::Negative
            } else {
                format()
            });
        }
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if !digits(int) || (s.contains('.') && !digits(frac)) {
            return Err(format());
        }
        if frac.len() > 2 {
            return Err(MoneyError::TooManyDecimals);
        }
        let int = int.trim_start_matches('0');
        // 14 integer digits already exceed every bound; stop before i64 overflows.
        if int.len() > 14 {
            return Err(MoneyError::TooLarge {
                limit: Money::of_fen(max_fen.min(Self::MAX_TOTAL_FEN)),
            });
        }
        let yuan: i64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| format())?
        };
        let fen_part: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| format())? * 10,
            _ => frac.parse().map_err(|_| format())?,
        };
        let fen = yuan
            .checked_mul(100)
            .and_then(|f| f.checked_add(fen_part))
            .ok_or_else(format)?;
        Self::bounded(fen, max_fen.min(Self::MAX_TOTAL_FEN))
    }

    /// A stored figure or a sum (`numeric(14,2)`): at most two decimal places after
    /// dropping trailing zeros, non-negative, at most [`Money::MAX_TOTAL_FEN`] fen.
    pub fn from_decimal(d: Decimal) -> Result<Money, MoneyError> {
        if d.is_sign_negative() && !d.is_zero() {
            return Err(MoneyError::Negative);
        }
        if d.normalize().scale() > 2 {
            return Err(MoneyError::TooManyDecimals);
        }
        let mut fen = d * Decimal::ONE_HUNDRED;
        fen.rescale(0);
        let fen = i64::try_from(fen.mantissa()).map_err(|_| MoneyError::TooLarge {
            limit: Money::of_fen(Self::MAX_TOTAL_FEN),
        })?;
        Self::total_from_fen(fen)
    }

    /// Integer fen (WeChat Pay's `total`, `refund`).
    pub fn to_fen(self) -> i64 {
        // Always scale 2 and at most MAX_TOTAL_FEN, so the mantissa is the fen and fits.
        i64::try_from(self.0.mantissa()).unwrap_or(i64::MAX)
    }

    /// The amount as a decimal of yuan with scale 2, for binding to `numeric(14,2)`.
    pub fn as_decimal(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// The sum, or `None` above [`Money::MAX_TOTAL_FEN`].
    pub fn checked_add(self, other: Money) -> Option<Money> {
        let fen = self.to_fen().checked_add(other.to_fen())?;
        Self::total_from_fen(fen).ok()
    }

    /// The difference, or `None` when it would be negative.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        Self::total_from_fen(self.to_fen().checked_sub(other.to_fen())?).ok()
    }

    /// The difference, or zero when `other` is larger.
    pub fn saturating_sub(self, other: Money) -> Money {
        self.checked_sub(other).unwrap_or(Money::ZERO)
    }

    /// The sum of `items`, or `None` above [`Money::MAX_TOTAL_FEN`].
    pub fn checked_sum(items: impl IntoIterator<Item = Money>) -> Option<Money> {
        items
            .into_iter()
            .try_fold(Money::ZERO, |acc, m| acc.checked_add(m))
    }
}

impl Default for Money {
    fn default() -> Self {
        Money::ZERO
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Scale is always 2: "12.50", "0.00".
        write!(f, "{}", self.0)
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

impl TryFrom<Decimal> for Money {
    type Error = MoneyError;

    fn try_from(d: Decimal) -> Result<Self, Self::Error> {
        Money::from_decimal(d)
    }
}

impl From<Money> for Decimal {
    fn from(m: Money) -> Decimal {
        m.0
    }
}

/// Serialised as a string of yuan, `"12.50"`, so no JSON reader turns it into a float.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Accepts only the string form. The bound is that of totals, so every figure this crate
/// writes reads back; postings still refuse a single line above [`Money::max`].
impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Money::parse_total(&s).map_err(serde::de::Error::custom)
    }
}

impl sqlx::Type<sqlx::Postgres> for Money {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <Decimal as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <Decimal as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl<'q> sqlx::Encode<'q, sqlx::Postgres> for Money {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <Decimal as sqlx::Encode<'q, sqlx::Postgres>>::encode_by_ref(&self.0, buf)
    }
}

/// Reading a column refuses (as a decode error) anything that is not a valid amount:
/// negative, more than two decimals or beyond `numeric(14,2)`.
impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Money {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let d = <Decimal as sqlx::Decode<'r, sqlx::Postgres>>::decode(value)?;
        Ok(Money::from_decimal(d)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn parse_accepts_yuan_with_up_to_two_decimals_and_displays_two() {
        assert_eq!(m("12.5").to_string(), "12.50");
        assert_eq!(m("12.50").to_string(), "12.50");
        assert_eq!(m("12").to_string(), "12.00");
        assert_eq!(m("0").to_string(), "0.00");
        assert_eq!(m("007.05").to_fen(), 705);
        assert_eq!(m("1000000").to_fen(), Money::MAX_FEN);
    }

    #[test]
    fn parse_refuses_bad_figures_with_the_right_reason() {
        assert_eq!(Money::parse("12.505"), Err(MoneyError::TooManyDecimals));
        assert_eq!(Money::parse("12.500"), Err(MoneyError::TooManyDecimals));
        assert_eq!(Money::parse("-1.00"), Err(MoneyError::Negative));
        assert!(matches!(
            Money::parse("1000000.01"),
            Err(MoneyError::TooLarge { .. })
        ));
        assert!(matches!(
            Money::parse("99999999999999999999999"),
            Err(MoneyError::TooLarge { .. })
        ));
        for bad in [
            "", ".", "12.", ".5", "1e3", "+1", " 1", "1 ", "1,000", "一", "NaN", "--1", "1.2.3",
        ] {
            assert!(
                matches!(Money::parse(bad), Err(MoneyError::Format(_))),
                "{bad:?} should be a format error"
            );
        }
    }

    #[test]
    fn fen_round_trips_and_constructors_check_bounds() {
        assert_eq!(Money::from_fen(1250).unwrap().to_string(), "12.50");
        assert_eq!(Money::from_fen(1250).unwrap().to_fen(), 1250);
        assert_eq!(Money::from_fen(-1), Err(MoneyError::Negative));
        assert!(Money::from_fen(Money::MAX_FEN + 1).is_err());
        assert!(Money::total_from_fen(Money::MAX_FEN + 1).is_ok());
        assert!(Money::total_from_fen(Money::MAX_TOTAL_FEN + 1).is_err());
    }

    #[test]
    fn from_decimal_accepts_stored_figures_only() {
        use std::str::FromStr;
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(Money::from_decimal(d("12.5")).unwrap().to_string(), "12.50");
        assert_eq!(
            Money::from_decimal(d("12.5000")).unwrap().to_string(),
            "12.50"
        );
        assert_eq!(Money::from_decimal(d("3")).unwrap().to_fen(), 300);
        assert_eq!(
            Money::from_decimal(d("0.001")),
            Err(MoneyError::TooManyDecimals)
        );
        assert_eq!(Money::from_decimal(d("-0.01")), Err(MoneyError::Negative));
        assert!(Money::from_decimal(d("-0")).is_ok());
        assert!(Money::from_decimal(d("1000000000000")).is_err());
    }

    #[test]
    fn checked_arithmetic_never_goes_negative_or_overflows() {
        assert_eq!(m("1.10").checked_add(m("2.95")), Some(m("4.05")));
        assert_eq!(m("5.00").checked_sub(m("5.00")), Some(Money::ZERO));
        assert_eq!(m("5.00").checked_sub(m("5.01")), None);
        assert_eq!(m("5.00").saturating_sub(m("9.00")), Money::ZERO);
        let big = Money::total_from_fen(Money::MAX_TOTAL_FEN).unwrap();
        assert_eq!(big.checked_add(m("0.01")), None);
        assert_eq!(
            Money::checked_sum([m("0.10"), m("0.20"), m("0.30")]),
            Some(m("0.60"))
        );
    }

    #[test]
    fn serde_uses_the_string_form() {
        let json = serde_json::to_string(&m("12.5")).unwrap();
        assert_eq!(json, "\"12.50\"");
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m("12.50"));
        assert!(serde_json::from_str::<Money>("12.5").is_err());
        assert!(serde_json::from_str::<Money>("\"-1\"").is_err());
        assert!(serde_json::from_str::<Money>("\"1.234\"").is_err());
        // Totals above the single-amount limit still round-trip.
        let total = Money::total_from_fen(5_000_000_000).unwrap();
        let back: Money = serde_json::from_str(&serde_json::to_string(&total).unwrap()).unwrap();
        assert_eq!(back, total);
    }

    #[test]
    fn money_errors_have_stable_codes_and_chinese_messages() {
        assert_eq!(MoneyError::Negative.code(), "MONEY_NEGATIVE");
        assert_eq!(
            DomainError::kind(&MoneyError::TooManyDecimals),
            ErrorKind::Unprocessable
        );
        assert!(MoneyError::TooManyDecimals
            .user_message()
            .contains("两位小数"));
    }
}
