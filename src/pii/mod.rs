//! Personal data (R-X05): validated resident identity numbers and mobile phone numbers,
//! encryption at rest, keyed lookup hashes ("blind indexes") and masking.
//!
//! This module owns the only types that may hold a clear identity number or phone number
//! ([`IdNumber`], [`Phone`]) and the [`Keyring`] that turns them into ciphertext for storage.
//!
//! Rules every item here keeps, and callers must keep too:
//! - a clear value is never logged, never `Debug`-printed and never put in an error message:
//!   `Debug` of [`IdNumber`] and [`Phone`] prints the masked form, errors carry only a fixed
//!   Chinese message, and [`Keyring`] never prints key material;
//! - `as_str()` exists to feed [`Keyring::encrypt_str`] and [`Keyring::blind_index`], not to
//!   display or log; show users [`IdNumber::masked`] / [`Phone::masked`];
//! - the types deliberately implement neither `Display` nor `Serialize`, so a clear value
//!   cannot slip into a log line or a JSON response by accident.

mod crypto;
mod error;
mod id_number;
mod phone;

pub use crypto::{KeyId, Keyring};
pub use error::{CryptoFailure, PiiError};
pub(crate) use id_number::check_char;
pub use id_number::{IdNumber, Sex};
pub use phone::Phone;

/// A person's name with its middle hidden, for views that need not show it (`张*明`,
/// `李*`, `欧阳**`).
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

#[cfg(test)]
mod mask_tests {
    #[test]
    fn names_keep_first_and_last() {
        assert_eq!(super::mask_name("张小明"), "张*明");
        assert_eq!(super::mask_name("李华"), "李*");
        assert_eq!(super::mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(super::mask_name(""), "");
    }
}
