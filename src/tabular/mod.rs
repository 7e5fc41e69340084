//! Spreadsheets for bulk import: reading what school clerks upload (.xlsx, .csv) and
//! writing templates and error reports (.xlsx, .csv).
//!
//! Owns file-format handling only: sniffing the format, decoding text, defending against
//! zip bombs, turning cells into trimmed text with spreadsheet row numbers, and writing
//! workbooks whose columns stay text (counts and amounts, declared as such, are numbers).
//! It is pure: it must never touch the database, the network or the clock, and it never
//! interprets what a column means (ID numbers, phones and names are checked by the import
//! services that call it).

mod archive_guard;
mod csv;
mod error;
#[cfg(test)]
mod fixtures;
mod read;
mod write;
mod xlsx;

pub use error::TabularError;
pub use read::{read, Limits, Row, Sheet};
pub use write::{csv, xlsx, ColumnKind, SheetOut};
