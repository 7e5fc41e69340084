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
