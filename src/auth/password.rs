//! Passwords: argon2id hashes (PHC strings) and the complexity rule of 等保 2.0 — at least
//! 8 characters from at least 3 of the 4 classes (lower, upper, digit, symbol).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

/// Why a new password is refused (Chinese, shown to the user).
pub fn check_complexity(pw: &str) -> Result<(), String> {
    let len = pw.chars().count();
    if len < 8 {
        return Err("密码至少 8 位".into());
    }
    if len > 128 {
        return Err("密码不能超过 128 位".into());
    }
    let classes = [
        pw.chars().any(|c| c.is_ascii_lowercase()),
        pw.chars().any(|c| c.is_ascii_uppercase()),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if classes < 3 {
        return Err("密码须包含小写字母、大写字母、数字、符号中的至少三类".into());
    }
    Ok(())
}

pub fn hash(pw: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pw.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// Constant-time verification against a stored PHC string; a malformed hash never matches.
pub fn verify(pw: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(pw.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A random password that passes the complexity rule (initial passwords set by operators).
pub fn generate() -> String {
    use rand::Rng;
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    const SYMBOL: &[u8] = b"#%+=@";
    let mut rng = rand::thread_rng();
    let mut out: Vec<u8> = Vec::with_capacity(12);
    for set in [LOWER, UPPER, DIGIT, SYMBOL] {
        out.push(set[rng.gen_range(0..set.len())]);
    }
    let all: Vec<u8> = [LOWER, UPPER, DIGIT].concat();
    while out.len() < 12 {
        out.push(all[rng.gen_range(0..all.len())]);
    }
    // Shuffle so the classes are not in a fixed order.
    for i in (1..out.len()).rev() {
        let j = rng.gen_range(0..=i);
        out.swap(i, j);
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complexity_needs_eight_characters_of_three_classes() {
        assert!(check_complexity("Abc12345").is_ok());
        assert!(check_complexity("abc#1234").is_ok());
        assert!(check_complexity("abcdefgh").is_err());
        assert!(check_complexity("abcd1234").is_err());
        assert!(check_complexity("Ab1#").is_err());
    }

    #[test]
    fn hashes_verify_only_the_right_password() {
        let h = hash("Abc12345").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("Abc12345", &h));
        assert!(!verify("Abc12346", &h));
        assert!(!verify("Abc12345", "not a hash"));
    }

    #[test]
    fn generated_passwords_pass_the_rule() {
        for _ in 0..50 {
            assert!(check_complexity(&generate()).is_ok());
        }
    }
}
