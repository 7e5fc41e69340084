//! Mainland China mobile numbers: 11 digits, `1[3-9]` prefix.

use super::error::PiiError;

const MSG: &str = "手机号码格式不正确";

/// A validated, normalised mobile number (11 ASCII digits). Holds the clear value, so it has
/// no `Display`/`Serialize` and its `Debug` is masked.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts the ways people type numbers: spaces, dashes and a `+86`/`0086`/`86` prefix.
    pub fn parse(s: &str) -> Result<Phone, PiiError> {
        let compact: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let national = if let Some(rest) = compact.strip_prefix("+86") {
            rest
        } else if let Some(rest) = compact.strip_prefix("0086") {
            rest
        } else if compact.len() == 13 {
            // A bare "86" is only a country code when 11 digits follow; otherwise it is part
            // of a (then invalid) number and stripping it could turn garbage into a match.
            compact.strip_prefix("86").unwrap_or(&compact)
        } else {
            &compact
        };
        // Hand-written rather than a regex: `\d` in the regex crate also matches non-ASCII
        // digits, and this keeps the value guaranteed ASCII for byte slicing in `masked`.
        let b = national.as_bytes();
        let ok = b.len() == 11
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1])
            && b.iter().all(u8::is_ascii_digit);
        if !ok {
            return Err(PiiError::phone(MSG));
        }
        Ok(Phone(national.to_owned()))
    }

    /// The clear value, for encryption, blind indexing and sending SMS; never log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678`.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Phone").field(&self.masked()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        Phone::parse(s).unwrap().as_str().to_owned()
    }

    fn rejected(s: &str) {
        match Phone::parse(s) {
            Err(PiiError::InvalidPhone(m)) => assert_eq!(m, "手机号码格式不正确"),
            other => panic!("expected InvalidPhone for {s:?}, got {other:?}"),
        }
    }

    #[test]
    fn normalises_prefixes_spaces_and_dashes() {
        assert_eq!(ok("+86 138-1234-5678"), "13812345678");
        assert_eq!(ok("13812345678"), "13812345678");
        assert_eq!(ok("138 1234 5678"), "13812345678");
        assert_eq!(ok("8613812345678"), "13812345678");
        assert_eq!(ok("0086 13812345678"), "13812345678");
        assert_eq!(ok("+8619912345678"), "19912345678");
        assert_eq!(ok(" 13312345678\t"), "13312345678");
    }

    #[test]
    fn rejects_malformed_numbers() {
        rejected("12345678901");
        rejected("1381234567");
        rejected("138123456789");
        rejected("11812345678");
        rejected("23812345678");
        rejected("1381234567a");
        rejected("");
        rejected("+86");
        rejected("+1 13812345678");
        rejected("86 1381234567");
        // Full-width digits must not pass as digits.
        rejected("１３８１２３４５６７８");
        rejected("+86+8613812345678");
    }

    #[test]
    fn masked_and_debug_hide_the_middle() {
        let p = Phone::parse("+86 138-1234-5678").unwrap();
        assert_eq!(p.masked(), "138****5678");
        let dbg = format!("{p:?} {p:#?}");
        assert!(!dbg.contains("13812345678"), "{dbg}");
        assert!(!dbg.contains("1234"), "{dbg}");
        assert!(dbg.contains("138****5678"));
    }

    #[test]
    fn errors_never_echo_the_input() {
        let e = Phone::parse("1381234567").unwrap_err();
        assert!(!format!("{e} {e:?}").contains("1381234567"));
    }
}
