//! Reading uploaded spreadsheets (.xlsx and .csv) into trimmed text rows: the entry point.
//!
//! Owns format sniffing (by content first, then by name), the size limits and the table
//! rules both formats share (header = first non-blank row, blank rows skipped, row numbers
//! as Excel shows them, cells kept sparse). The formats themselves live beside it:
//! [`super::csv`] decodes text tables, [`super::xlsx`] reads workbooks, and
//! [`super::archive_guard`] inflates every archive entry through a counting loop before
//! calamine sees the file. It must never trust a size an archive declares, and never
//! allocate from a declared size or from the bounding box of a sheet.

use std::collections::HashSet;

use calamine::Dimensions;

use super::csv::{decode_text, read_csv};
use super::xlsx::read_xlsx;
use super::TabularError;

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
/// "EncryptedPackage" in UTF-16LE: the stream a password-protected .xlsx keeps in its OLE
/// container.
const ENCRYPTED_PACKAGE_UTF16: &[u8] = b"E\0n\0c\0r\0y\0p\0t\0e\0d\0P\0a\0c\0k\0a\0g\0e\0";
pub(super) const MIB: usize = 1024 * 1024;

/// Limits applied while reading; the defaults fit the bulk imports of one school.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_file_bytes: usize,
    /// Whole xlsx archive, counted while actually decompressing.
    pub max_uncompressed_bytes: u64,
    /// Data rows per sheet (the header row not counted).
    pub max_rows: usize,
    pub max_columns: usize,
    pub max_cell_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 10 * MIB,
            max_uncompressed_bytes: 100 * 1024 * 1024,
            max_rows: 20_000,
            max_columns: 64,
            max_cell_chars: 4_000,
        }
    }
}

/// One table: a worksheet of an .xlsx, or the whole of a .csv.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// Worksheet name; for CSV the file stem ("学生名单" for "学生名单.csv").
    pub name: String,
    /// Spreadsheet row number of the header (1-based, as Excel shows it).
    pub header_row: u32,
    /// Trimmed; a trailing '*' (required-field marker of our templates) removed; trailing
    /// empty header cells dropped.
    pub headers: Vec<String>,
    /// Data rows after the header; completely blank rows skipped.
    pub rows: Vec<Row>,
}

/// One data row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Spreadsheet row number (1-based, as Excel shows it) so error reports can say 第N行.
    pub number: u32,
    /// Trimmed text, exactly `headers.len()` cells.
    pub cells: Vec<String>,
}

/// Reads every visible worksheet of an .xlsx file, or the single table of a .csv file.
///
/// For a workbook with several sheets, sheets with no cells at all are left out and
/// sheets with only a header are returned with no rows, as long as at least one sheet has
/// data; otherwise the first such sheet gives `NoData` or `EmptySheet`. A sheet named
/// "填写说明" (the instructions sheet of our templates) is skipped.
pub fn read(bytes: &[u8], file_name: &str, limits: &Limits) -> Result<Vec<Sheet>, TabularError> {
    if bytes.len() > limits.max_file_bytes {
        return Err(TabularError::TooLarge {
            limit_mb: limits.max_file_bytes.div_ceil(MIB),
        });
    }
    if bytes.is_empty() {
        return Err(TabularError::EmptyFile);
    }

    let lower_name = file_name.trim().to_lowercase();
    if bytes.starts_with(ZIP_MAGIC) {
        return read_xlsx(bytes, limits);
    }
    if bytes.starts_with(OLE_MAGIC) {
        return Err(if contains(bytes, ENCRYPTED_PACKAGE_UTF16) {
            TabularError::EncryptedWorkbook
        } else {
            TabularError::UnsupportedFormat
        });
    }
    if lower_name.ends_with(".xlsx") || lower_name.ends_with(".xlsm") || bytes.starts_with(b"PK") {
        return Err(TabularError::NotAWorkbook);
    }

    // Many school systems export an HTML table named .xls; it decodes as text but is no CSV.
    if lower_name.ends_with(".xls") {
        return Err(TabularError::UnsupportedFormat);
    }
    let named_text = lower_name.ends_with(".csv") || lower_name.ends_with(".txt");
    match decode_text(bytes) {
        Some(text) => read_csv(&text, &file_stem(file_name), limits),
        None if named_text => Err(TabularError::BadEncoding),
        None => Err(TabularError::UnsupportedFormat),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn file_stem(file_name: &str) -> String {
    let base = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(file_name)
        .trim();
    match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => base.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Table rules shared by both formats.

/// A non-blank row as read: 0-based row index and its non-empty trimmed cells, sorted by
/// 0-based column. Kept sparse so a stray cell in column XFD costs nothing.
pub(super) struct RawRow {
    pub(super) index: u32,
    pub(super) cells: Vec<(u32, String)>,
}

pub(super) enum Parsed {
    Blank,
    HeaderOnly(Sheet),
    Data(Sheet),
}

/// Excel column letters for a 0-based column: 0 → "A", 26 → "AA".
pub(super) fn column_letter(col: u32) -> String {
    let mut n = u64::from(col) + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        letters.push(char::from(b'A' + rem));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

fn cell_ref(row: u32, col: u32) -> String {
    format!("{}{}", column_letter(col), u64::from(row) + 1)
}

fn range_text(d: &Dimensions) -> String {
    if d.start == d.end {
        cell_ref(d.start.0, d.start.1)
    } else {
        format!(
            "{}:{}",
            cell_ref(d.start.0, d.start.1),
            cell_ref(d.end.0, d.end.1)
        )
    }
}

fn clean_header(text: &str) -> String {
    let trimmed = text.trim();
    let unmarked = trimmed
        .strip_suffix('*')
        .or_else(|| trimmed.strip_suffix('＊'))
        .unwrap_or(trimmed);
    unmarked.trim().to_string()
}

pub(super) fn too_many_rows(sheet: &str, limits: &Limits) -> TabularError {
    TabularError::TooManyRows {
        sheet: sheet.to_string(),
        limit: limits.max_rows,
    }
}

fn check_cell_len(
    sheet: &str,
    index: u32,
    col: u32,
    text: &str,
    limits: &Limits,
) -> Result<(), TabularError> {
    if text.chars().count() > limits.max_cell_chars {
        return Err(TabularError::CellTooLong {
            sheet: sheet.to_string(),
            row: index.saturating_add(1),
            column: column_letter(col),
        });
    }
    Ok(())
}

pub(super) fn build_sheet(
    name: &str,
    rows: Vec<RawRow>,
    merges: &[Dimensions],
    limits: &Limits,
) -> Result<Parsed, TabularError> {
    let mut rows = rows.into_iter();
    let Some(header) = rows.next() else {
        return Ok(Parsed::Blank);
    };
    let data: Vec<RawRow> = rows.collect();

    let used_rows: Vec<u32> = std::iter::once(header.index)
        .chain(data.iter().map(|r| r.index))
        .collect();
    let mut touching: Vec<&Dimensions> = merges
        .iter()
        .filter(|d| {
            let first = used_rows.partition_point(|&r| r < d.start.0);
            used_rows.get(first).is_some_and(|&r| r <= d.end.0)
        })
        .collect();
    if !touching.is_empty() {
        touching.sort();
        return Err(TabularError::MergedCells {
            sheet: name.to_string(),
            ranges: touching.into_iter().map(range_text).collect(),
        });
    }

    let mut headers: Vec<String> = Vec::new();
    for (col, text) in &header.cells {
        if *col as usize >= limits.max_columns {
            return Err(TabularError::TooManyColumns {
                sheet: name.to_string(),
                limit: limits.max_columns,
            });
        }
        check_cell_len(name, header.index, *col, text, limits)?;
        headers.resize(*col as usize, String::new());
        headers.push(clean_header(text));
    }
    while headers.last().is_some_and(String::is_empty) {
        headers.pop();
    }
    if headers.is_empty() {
        return Err(TabularError::EmptySheet {
            sheet: name.to_string(),
        });
    }
    let mut seen = HashSet::new();
    for h in headers.iter().filter(|h| !h.is_empty()) {
        if !seen.insert(h.as_str()) {
            return Err(TabularError::DuplicateHeader {
                sheet: name.to_string(),
                header: h.clone(),
            });
        }
    }

    if data.len() > limits.max_rows {
        return Err(too_many_rows(name, limits));
    }
    let mut out_rows = Vec::with_capacity(data.len());
    for raw in data {
        let mut cells = vec![String::new(); headers.len()];
        for (col, text) in raw.cells {
            let Some(slot) = cells.get_mut(col as usize) else {
                return Err(TabularError::ExtraCells {
                    sheet: name.to_string(),
                    row: raw.index.saturating_add(1),
                });
            };
            check_cell_len(name, raw.index, col, &text, limits)?;
            *slot = text;
        }
        out_rows.push(Row {
            number: raw.index.saturating_add(1),
            cells,
        });
    }

    let sheet = Sheet {
        name: name.to_string(),
        header_row: header.index.saturating_add(1),
        headers,
        rows: out_rows,
    };
    Ok(if sheet.rows.is_empty() {
        Parsed::HeaderOnly(sheet)
    } else {
        Parsed::Data(sheet)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tabular::fixtures::{read_default, zip_of};

    #[test]
    fn column_letters_follow_excel() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
        assert_eq!(column_letter(16_383), "XFD");
    }

    // ---- format sniffing ---------------------------------------------------------------

    #[test]
    fn old_xls_is_unsupported_and_encrypted_xlsx_is_named() {
        let mut xls = OLE_MAGIC.to_vec();
        xls.extend_from_slice(&[0u8; 600]);
        assert_eq!(
            read_default(&xls, "名单.xls"),
            Err(TabularError::UnsupportedFormat)
        );
        assert_eq!(
            read_default(&xls, "名单.xlsx"),
            Err(TabularError::UnsupportedFormat)
        );
        let html = "<table><tr><td>姓名</td></tr></table>".as_bytes();
        assert_eq!(
            read_default(html, "名单.xls"),
            Err(TabularError::UnsupportedFormat)
        );

        let mut encrypted = xls.clone();
        encrypted.extend_from_slice(ENCRYPTED_PACKAGE_UTF16);
        assert_eq!(
            read_default(&encrypted, "名单.xlsx"),
            Err(TabularError::EncryptedWorkbook)
        );
    }

    #[test]
    fn random_bytes_named_xlsx_are_not_a_workbook() {
        let bytes: Vec<u8> = (0u32..4096)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert_eq!(
            read_default(&bytes, "名单.XLSX"),
            Err(TabularError::NotAWorkbook)
        );
        assert_eq!(
            read_default(&bytes, "名单.bin"),
            Err(TabularError::UnsupportedFormat)
        );
        let mut fake_zip = ZIP_MAGIC.to_vec();
        fake_zip.extend_from_slice(&bytes);
        assert_eq!(
            read_default(&fake_zip, "名单.xlsx"),
            Err(TabularError::NotAWorkbook)
        );
    }

    #[test]
    fn a_zip_without_workbook_parts_is_not_a_workbook() {
        let bytes = zip_of(&[("学生.csv", "姓名\n张三\n".as_bytes())]);
        assert_eq!(
            read_default(&bytes, "名单.xlsx"),
            Err(TabularError::NotAWorkbook)
        );
    }

    #[test]
    fn files_over_the_size_limit_are_rejected_first() {
        let limits = Limits {
            max_file_bytes: 10,
            ..Limits::default()
        };
        assert_eq!(
            read(b"0123456789A", "a.csv", &limits),
            Err(TabularError::TooLarge { limit_mb: 1 })
        );
        assert_eq!(read(b"", "a.csv", &limits), Err(TabularError::EmptyFile));
    }
}
