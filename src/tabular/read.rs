//! Reading uploaded spreadsheets (.xlsx and .csv) into trimmed text rows.
//!
//! Owns format sniffing, text decoding (UTF-8, UTF-16 with BOM, GB18030/GBK), the zip-bomb
//! defence, cell-to-text conversion and the table rules (header = first non-blank row,
//! blank rows skipped, row numbers as Excel shows them). It must never trust the sizes an
//! archive declares: every entry is inflated through a counting loop that stops at the
//! limit before calamine sees the file, and nothing is ever allocated from a declared size
//! or from the bounding box of a sheet (cells are kept sparse).

use std::collections::{BTreeMap, HashSet};
use std::io::{Cursor, Read};

use calamine::{
    DataRef, Dimensions, ExcelDateTime, ExcelDateTimeType, Reader, SheetType, SheetVisible, Xlsx,
    XlsxError,
};
use zip::result::ZipError;
use zip::ZipArchive;

use super::write::NOTES_SHEET;
use super::TabularError;

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
/// "EncryptedPackage" in UTF-16LE: the stream a password-protected .xlsx keeps in its OLE
/// container.
const ENCRYPTED_PACKAGE_UTF16: &[u8] = b"E\0n\0c\0r\0y\0p\0t\0e\0d\0P\0a\0c\0k\0a\0g\0e\0";
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const MIB: usize = 1024 * 1024;

/// Zip-bomb thresholds. Real workbooks have a few dozen parts and inflate 5–20 times;
/// deflate cannot exceed about 1,032 times.
const MAX_ZIP_ENTRIES: usize = 1_000;
const MAX_ENTRY_RATIO: u64 = 500;
/// Below this many inflated bytes an entry's ratio is not judged (tiny parts of repeated
/// XML compress very well and are harmless).
const RATIO_FLOOR_BYTES: u64 = 1024 * 1024;
const INFLATE_CHUNK: usize = 64 * 1024;
/// The smallest shared string Excel writes, `<si><t/></si>`, rounded down.
const MIN_SHARED_STRING_BYTES: u64 = 8;

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
struct RawRow {
    index: u32,
    cells: Vec<(u32, String)>,
}

enum Parsed {
    Blank,
    HeaderOnly(Sheet),
    Data(Sheet),
}

/// Excel column letters for a 0-based column: 0 → "A", 26 → "AA".
fn column_letter(col: u32) -> String {
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

fn too_many_rows(sheet: &str, limits: &Limits) -> TabularError {
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

fn build_sheet(
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

// ---------------------------------------------------------------------------------------
// CSV

/// Decodes CSV bytes: UTF-8 (BOM optional), UTF-16LE/BE with BOM, else GB18030 (a superset
/// of GBK). `None` when no decoding is clean or the text holds control characters that a
/// text table never has (a sign of a binary file).
fn decode_text(bytes: &[u8]) -> Option<String> {
    let text = if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        std::str::from_utf8(rest).ok()?.to_string()
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        encoding_rs::UTF_16LE
            .decode_without_bom_handling_and_without_replacement(rest)?
            .into_owned()
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        encoding_rs::UTF_16BE
            .decode_without_bom_handling_and_without_replacement(rest)?
            .into_owned()
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        text.to_string()
    } else {
        encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)?
            .into_owned()
    };
    let binary = text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{1A}'));
    (!binary).then_some(text)
}

fn read_csv(text: &str, name: &str, limits: &Limits) -> Result<Vec<Sheet>, TabularError> {
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delimiter = if first_line.contains('\t') && !first_line.contains(',') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());

    let mut rows = Vec::new();
    // Excel shows one row per record, blank lines included, while a quoted field may span
    // lines; csv skips blank lines. So count line ends up to where each record really
    // starts and take away those that were inside earlier records' quoted fields.
    let bytes = text.as_bytes();
    let mut counted_to = 0usize;
    let mut line_ends: u64 = 0;
    let mut embedded_newlines: u64 = 0;
    let mut last_index: Option<u32> = None;
    for record in reader.records() {
        let record = record.map_err(|e| TabularError::Corrupt(format!("csv: {e}")))?;
        let mut start = record
            .position()
            .map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX))
            .min(bytes.len());
        while bytes.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            start += 1;
        }
        if start > counted_to {
            line_ends += bytes[counted_to..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            counted_to = start;
        }
        let by_lines =
            u32::try_from(line_ends.saturating_sub(embedded_newlines)).unwrap_or(u32::MAX);
        // Files with bare-CR line ends have no '\n' to count; keep rows increasing.
        let index = match last_index {
            Some(prev) if by_lines <= prev => prev.saturating_add(1),
            _ => by_lines,
        };
        last_index = Some(index);
        embedded_newlines += record
            .iter()
            .map(|f| f.matches('\n').count() as u64)
            .sum::<u64>();

        let cells: Vec<(u32, String)> = record
            .iter()
            .enumerate()
            .filter_map(|(col, field)| {
                let field = field.trim();
                let col = u32::try_from(col).ok()?;
                (!field.is_empty()).then(|| (col, field.to_string()))
            })
            .collect();
        if cells.is_empty() {
            continue;
        }
        if rows.len() > limits.max_rows {
            return Err(too_many_rows(name, limits));
        }
        rows.push(RawRow { index, cells });
    }

    match build_sheet(name, rows, &[], limits)? {
        Parsed::Data(sheet) => Ok(vec![sheet]),
        Parsed::HeaderOnly(_) => Err(TabularError::NoData {
            sheet: name.to_string(),
        }),
        Parsed::Blank => Err(TabularError::EmptyFile),
    }
}

// ---------------------------------------------------------------------------------------
// XLSX

fn read_xlsx(bytes: &[u8], limits: &Limits) -> Result<Vec<Sheet>, TabularError> {
    check_archive(bytes, limits)?;

    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(open_error)?;
    let is_1904 = workbook.has_1904_epoch();
    let names: Vec<String> = workbook
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet && s.visible == SheetVisible::Visible)
        .filter(|s| s.name != NOTES_SHEET)
        .map(|s| s.name.clone())
        .collect();
    let Some(first_name) = names.first().cloned() else {
        return Err(TabularError::EmptyFile);
    };

    let mut parsed = Vec::with_capacity(names.len());
    for name in &names {
        let rows = sheet_rows(&mut workbook, name, is_1904, limits)?;
        let merges = if rows.is_empty() {
            Vec::new()
        } else {
            workbook
                .merge_cells_by_sheet_name(name)
                .map_err(|e| corrupt("reading merged cells", e))?
        };
        parsed.push(build_sheet(name, rows, &merges, limits)?);
    }

    let has_data = parsed.iter().any(|p| matches!(p, Parsed::Data(_)));
    if has_data {
        return Ok(parsed
            .into_iter()
            .filter_map(|p| match p {
                Parsed::Data(sheet) | Parsed::HeaderOnly(sheet) => Some(sheet),
                Parsed::Blank => None,
            })
            .collect());
    }
    let header_only = parsed.into_iter().find_map(|p| match p {
        Parsed::HeaderOnly(sheet) => Some(sheet.name),
        _ => None,
    });
    Err(match header_only {
        Some(sheet) => TabularError::NoData { sheet },
        None => TabularError::EmptySheet { sheet: first_name },
    })
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> TabularError {
    TabularError::Corrupt(format!("xlsx {what}: {e}"))
}

fn open_error(e: XlsxError) -> TabularError {
    match e {
        XlsxError::Password => TabularError::EncryptedWorkbook,
        XlsxError::FileNotFound(_) | XlsxError::RelationshipNotFound | XlsxError::Zip(_) => {
            TabularError::NotAWorkbook
        }
        other => corrupt("opening workbook", other),
    }
}

/// Inflates every entry of the archive, counting the bytes that actually come out, and
/// stops as soon as the workbook proves too big. Declared sizes are only used to reject
/// early, never to accept. Calamine opens the same bytes with the same zip library, which
/// in turn refuses to inflate any entry past its declared size, so what it reads is what
/// was counted here.
fn check_archive(bytes: &[u8], limits: &Limits) -> Result<(), TabularError> {
    let mut archive =
        ZipArchive::new(Cursor::new(bytes)).map_err(|_| TabularError::NotAWorkbook)?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(TabularError::WorkbookTooLarge);
    }

    let limit = limits.max_uncompressed_bytes;
    let mut total: u64 = 0;
    let mut chunk = vec![0u8; INFLATE_CHUNK];
    for index in 0..archive.len() {
        let mut entry = match archive.by_index(index) {
            Ok(entry) => entry,
            Err(ZipError::UnsupportedArchive(msg)) if msg == ZipError::PASSWORD_REQUIRED => {
                return Err(TabularError::EncryptedWorkbook)
            }
            Err(_) => return Err(TabularError::NotAWorkbook),
        };
        let compressed = entry.compressed_size().max(1);
        let declared = entry.size();
        if declared > limit
            || (declared > RATIO_FLOOR_BYTES && declared / compressed > MAX_ENTRY_RATIO)
        {
            return Err(TabularError::WorkbookTooLarge);
        }

        let mut produced: u64 = 0;
        let mut counts = UniqueCountScanner::default();
        loop {
            let n = match entry.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    counts.feed(chunk.get(..n).unwrap_or_default());
                    n as u64
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if inflates_past_declared_size(&e) => {
                    return Err(TabularError::WorkbookTooLarge)
                }
                Err(e) => return Err(corrupt("inflating archive entry", e)),
            };
            produced += n;
            total += n;
            if total > limit
                || (produced > RATIO_FLOOR_BYTES && produced / compressed > MAX_ENTRY_RATIO)
            {
                return Err(TabularError::WorkbookTooLarge);
            }
        }
        if counts.largest > produced / MIN_SHARED_STRING_BYTES {
            return Err(TabularError::WorkbookTooLarge);
        }
    }
    Ok(())
}

/// Finds the largest `uniqueCount="N"` in a stream of XML. Calamine reserves N shared
/// strings before reading any, so a file that declares billions in a few bytes would make
/// the process abort on allocation; a real count is bounded by the bytes of its entries.
#[derive(Default)]
struct UniqueCountScanner {
    state: CountScan,
    value: u64,
    largest: u64,
}

#[derive(Default, Clone, Copy)]
enum CountScan {
    #[default]
    Name,
    /// This many bytes of the attribute name matched.
    NameAt(usize),
    BeforeEquals,
    BeforeQuote,
    Digits,
}

impl UniqueCountScanner {
    const NAME: &'static [u8] = b"uniqueCount";

    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state = self.step(b);
        }
    }

    fn restart(b: u8) -> CountScan {
        if Self::NAME.first() == Some(&b) {
            CountScan::NameAt(1)
        } else {
            CountScan::Name
        }
    }

    fn step(&mut self, b: u8) -> CountScan {
        match self.state {
            CountScan::Name => Self::restart(b),
            CountScan::NameAt(k) => match Self::NAME.get(k) {
                Some(&want) if want == b && k + 1 == Self::NAME.len() => CountScan::BeforeEquals,
                Some(&want) if want == b => CountScan::NameAt(k + 1),
                _ => Self::restart(b),
            },
            CountScan::BeforeEquals => match b {
                b'=' => CountScan::BeforeQuote,
                b if b.is_ascii_whitespace() => CountScan::BeforeEquals,
                b => Self::restart(b),
            },
            CountScan::BeforeQuote => match b {
                b'"' | b'\'' => {
                    self.value = 0;
                    CountScan::Digits
                }
                b if b.is_ascii_whitespace() => CountScan::BeforeQuote,
                b => Self::restart(b),
            },
            CountScan::Digits => match b {
                b'0'..=b'9' => {
                    self.value = self
                        .value
                        .saturating_mul(10)
                        .saturating_add(u64::from(b - b'0'));
                    CountScan::Digits
                }
                b'+' if self.value == 0 => CountScan::Digits,
                b => {
                    self.largest = self.largest.max(self.value);
                    Self::restart(b)
                }
            },
        }
    }
}

/// The zip library stops an entry that inflates to more than its header declares; that lie
/// is the signature of a crafted bomb, not of a damaged file.
fn inflates_past_declared_size(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::InvalidData
        && e.to_string().contains("larger than its declared")
}

/// Streams the cells of one worksheet, keeping only non-blank ones, sparse, by row.
fn sheet_rows(
    workbook: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
    is_1904: bool,
    limits: &Limits,
) -> Result<Vec<RawRow>, TabularError> {
    let mut cells = match workbook.worksheet_cells_reader(name) {
        Ok(cells) => cells,
        Err(XlsxError::NotAWorksheet(_)) => return Ok(Vec::new()),
        Err(e) => return Err(corrupt("opening worksheet", e)),
    };
    let mut rows: BTreeMap<u32, Vec<(u32, String)>> = BTreeMap::new();
    while let Some(cell) = cells
        .next_cell()
        .map_err(|e| corrupt("reading worksheet", e))?
    {
        let text = cell_text(cell.get_value(), is_1904);
        if text.is_empty() {
            continue;
        }
        let (row, col) = cell.get_position();
        let known_rows = rows.len();
        match rows.entry(row) {
            std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().push((col, text)),
            std::collections::btree_map::Entry::Vacant(e) => {
                // Header plus max_rows data rows; one more proves the sheet too long.
                if known_rows > limits.max_rows {
                    return Err(too_many_rows(name, limits));
                }
                e.insert(vec![(col, text)]);
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|(index, mut cells)| {
            cells.sort_by_key(|(col, _)| *col);
            RawRow { index, cells }
        })
        .collect())
}

/// The text a clerk sees in the cell, trimmed.
fn cell_text(value: &DataRef<'_>, is_1904: bool) -> String {
    match value {
        DataRef::String(s) => s.trim().to_string(),
        DataRef::SharedString(s) => s.trim().to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => format_number(*f),
        DataRef::Bool(true) => "TRUE".to_string(),
        DataRef::Bool(false) => "FALSE".to_string(),
        DataRef::DateTime(dt) => format_datetime(dt, is_1904),
        DataRef::DateTimeIso(s) => format_iso_datetime(s.trim()),
        DataRef::DurationIso(s) => s.trim().to_string(),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
    }
}

/// Whole numbers as integer text ("13800000000", never "13800000000.0" or "1.38e10");
/// others rounded to the 15 significant digits Excel shows, in shortest form.
fn format_number(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x.fract() == 0.0 {
        // Past 1e15 the digits may already be lost (an 18-digit ID typed as a number);
        // print what is there and let the caller's checks reject it.
        return if x.abs() < 1e15 {
            (x as i64).to_string()
        } else {
            format!("{x:.0}")
        };
    }
    let rounded: f64 = format!("{x:.14e}").parse().unwrap_or(x);
    rounded.to_string()
}

/// "YYYY-MM-DD" for dates, "YYYY-MM-DD HH:MM" for date-times, "HH:MM" for a time of day
/// alone, "H:MM" for durations. Rounded to the minute.
fn format_datetime(dt: &ExcelDateTime, is_1904: bool) -> String {
    let value = dt.as_f64();
    if !value.is_finite() {
        return String::new();
    }
    let minutes = (value * 1440.0).round() as i64;
    if dt.is_duration() {
        let sign = if minutes < 0 { "-" } else { "" };
        let m = minutes.unsigned_abs();
        return format!("{sign}{}:{:02}", m / 60, m % 60);
    }
    let days = minutes.div_euclid(1440);
    let of_day = minutes.rem_euclid(1440);
    let (hour, minute) = (of_day / 60, of_day % 60);
    if days == 0 && of_day != 0 {
        return format!("{hour:02}:{minute:02}");
    }
    let (y, m, d, ..) =
        ExcelDateTime::new(days as f64, ExcelDateTimeType::DateTime, is_1904).to_ymd_hms_milli();
    if of_day == 0 {
        format!("{y:04}-{m:02}-{d:02}")
    } else {
        format!("{y:04}-{m:02}-{d:02} {hour:02}:{minute:02}")
    }
}

/// ISO 8601 from `t="d"` cells: "2024-09-01T08:30:00" → "2024-09-01 08:30".
fn format_iso_datetime(s: &str) -> String {
    match s.split_once('T') {
        Some((date, time)) => {
            let hh_mm = time.get(..5).unwrap_or(time);
            let midnight = time
                .trim_end_matches('Z')
                .chars()
                .all(|c| matches!(c, '0' | ':' | '.'));
            if midnight {
                date.to_string()
            } else {
                format!("{date} {hh_mm}")
            }
        }
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use rust_xlsxwriter::{ExcelDateTime as XlsxDate, Format, Workbook, Worksheet};
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    use super::*;
    use crate::tabular::{xlsx, SheetOut};

    fn s(v: &str) -> String {
        v.to_string()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    type Fill<'a> = &'a dyn Fn(&mut Worksheet);

    /// An .xlsx made directly with rust_xlsxwriter, one sheet per closure call.
    fn workbook(sheets: &[(&str, Fill<'_>)]) -> Vec<u8> {
        let mut wb = Workbook::new();
        for (name, fill) in sheets {
            let ws = wb.add_worksheet();
            ws.set_name(*name).unwrap();
            fill(ws);
        }
        wb.save_to_buffer().unwrap()
    }

    fn one_sheet(fill: Fill<'_>) -> Vec<u8> {
        workbook(&[("Sheet1", fill)])
    }

    fn write_row(ws: &mut Worksheet, row: u32, values: &[&str]) {
        for (col, v) in values.iter().enumerate() {
            ws.write_string(row, col as u16, *v).unwrap();
        }
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for (name, data) in entries {
            zip.start_file(*name, options).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// A zip whose only entry inflates to `mib` MiB of zeros, written 1 MiB at a time so the
    /// test never holds the inflated data.
    fn zeros_zip(name: &str, mib: usize) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        zip.start_file(name, options).unwrap();
        let block = vec![0u8; MIB];
        for _ in 0..mib {
            zip.write_all(&block).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn read_default(bytes: &[u8], name: &str) -> Result<Vec<Sheet>, TabularError> {
        read(bytes, name, &Limits::default())
    }

    // ---- xlsx ------------------------------------------------------------------------

    #[test]
    fn xlsx_template_round_trips_with_markers_stripped_and_blank_rows_skipped() {
        let sheet = SheetOut {
            name: s("学生名单"),
            headers: strings(&["姓名*", "身份证号*", "手机号", "备注"]),
            rows: vec![
                strings(&["张三", "440101200001011234", "13800000000", ""]),
                strings(&["", "", "", ""]),
                strings(&["  李四 ", "44010120000101123X", "013800000000", "转学"]),
            ],
            widths: vec![],
            kinds: vec![],
        };
        let bytes = xlsx(&[sheet], &[s("带 * 的列必填")]).unwrap();

        let sheets = read_default(&bytes, "学生名单.xlsx").unwrap();

        assert_eq!(sheets.len(), 1, "the notes sheet is not data");
        let sheet = &sheets[0];
        assert_eq!(sheet.name, "学生名单");
        assert_eq!(sheet.header_row, 1);
        assert_eq!(
            sheet.headers,
            strings(&["姓名", "身份证号", "手机号", "备注"])
        );
        assert_eq!(
            sheet.rows,
            vec![
                Row {
                    number: 2,
                    cells: strings(&["张三", "440101200001011234", "13800000000", ""]),
                },
                Row {
                    number: 4,
                    cells: strings(&["李四", "44010120000101123X", "013800000000", "转学"]),
                },
            ]
        );
    }

    #[test]
    fn header_is_the_first_non_blank_row_and_row_numbers_follow_excel() {
        let bytes = one_sheet(&|ws| {
            write_row(ws, 2, &["姓名", "", "班级", "", ""]);
            ws.write_string(2, 4, "   ").unwrap();
            write_row(ws, 3, &["张三", "", "一(1)班"]);
            write_row(ws, 6, &["", "x"]);
        });

        let sheet = &read_default(&bytes, "a.xlsx").unwrap()[0];

        assert_eq!(sheet.header_row, 3);
        assert_eq!(sheet.headers, strings(&["姓名", "", "班级"]));
        assert_eq!(sheet.rows[0].number, 4);
        assert_eq!(sheet.rows[0].cells, strings(&["张三", "", "一(1)班"]));
        assert_eq!(sheet.rows[1].number, 7);
        assert_eq!(sheet.rows[1].cells, strings(&["", "x", ""]));
    }

    #[test]
    fn numbers_dates_and_booleans_become_the_text_a_clerk_sees() {
        let bytes = one_sheet(&|ws| {
            let date = Format::new().set_num_format("yyyy-mm-dd");
            let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm");
            let time = Format::new().set_num_format("hh:mm");
            write_row(
                ws,
                0,
                &[
                    "手机",
                    "年龄",
                    "分数",
                    "身份证",
                    "入学",
                    "报名",
                    "下课",
                    "已缴",
                    "负数",
                ],
            );
            ws.write_number(1, 0, 13_800_000_000.0).unwrap();
            ws.write_number(1, 1, 9.0).unwrap();
            ws.write_number(1, 2, 0.1 + 0.2).unwrap();
            ws.write_number(1, 3, 440_101_200_001_011_234.0).unwrap();
            let day = XlsxDate::from_ymd(2024, 9, 1).unwrap();
            ws.write_datetime_with_format(1, 4, &day, &date).unwrap();
            let at = XlsxDate::from_ymd(2024, 8, 20)
                .unwrap()
                .and_hms(8, 30, 0)
                .unwrap();
            ws.write_datetime_with_format(1, 5, &at, &datetime).unwrap();
            ws.write_number_with_format(1, 6, 17.5 / 24.0, &time)
                .unwrap();
            ws.write_boolean(1, 7, true).unwrap();
            ws.write_number(1, 8, -2.5).unwrap();
        });

        let sheet = &read_default(&bytes, "a.xlsx").unwrap()[0];

        assert_eq!(
            sheet.rows[0].cells,
            strings(&[
                "13800000000",
                "9",
                "0.3",
                "440101200001011264",
                "2024-09-01",
                "2024-08-20 08:30",
                "17:30",
                "TRUE",
                "-2.5",
            ])
        );
    }

    #[test]
    fn number_formatting_never_uses_exponents_or_trailing_zeroes() {
        assert_eq!(format_number(13_800_000_000.0), "13800000000");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(1e-7), "0.0000001");
        assert_eq!(format_number(1e20), "100000000000000000000");
        assert_eq!(format_number(2.9999999999999996), "3");
        assert_eq!(format_number(f64::NAN), "NaN");
        assert_eq!(format_iso_datetime("2024-09-01T00:00:00"), "2024-09-01");
        assert_eq!(
            format_iso_datetime("2024-09-01T08:30:00"),
            "2024-09-01 08:30"
        );
    }

    #[test]
    fn hidden_sheets_are_skipped() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name("学生").unwrap();
        write_row(ws, 0, &["姓名"]);
        write_row(ws, 1, &["张三"]);
        let hidden = wb.add_worksheet();
        hidden.set_name("字典").unwrap();
        write_row(hidden, 0, &["x"]);
        hidden.set_hidden(true);
        let bytes = wb.save_to_buffer().unwrap();

        let sheets = read_default(&bytes, "a.xlsx").unwrap();

        assert_eq!(sheets.len(), 1);
        assert_eq!(sheets[0].name, "学生");
    }

    #[test]
    fn blank_sheets_are_left_out_and_header_only_sheets_kept_when_another_has_data() {
        let bytes = workbook(&[
            ("学生", &|ws: &mut Worksheet| {
                write_row(ws, 0, &["姓名"]);
                write_row(ws, 1, &["张三"]);
            }),
            ("Sheet2", &|_: &mut Worksheet| {}),
            ("监护人", &|ws: &mut Worksheet| {
                write_row(ws, 0, &["姓名", "电话"])
            }),
        ]);

        let sheets = read_default(&bytes, "a.xlsx").unwrap();

        let names: Vec<&str> = sheets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["学生", "监护人"]);
        assert!(sheets[1].rows.is_empty());
    }

    #[test]
    fn merged_cells_touching_the_table_are_reported_with_their_ranges() {
        let bytes = one_sheet(&|ws| {
            write_row(ws, 0, &["姓名", "班级"]);
            write_row(ws, 1, &["张三"]);
            ws.merge_range(2, 1, 4, 1, "一(1)班", &Format::new())
                .unwrap();
            write_row(ws, 2, &["李四"]);
            ws.merge_range(20, 0, 20, 1, "", &Format::new()).unwrap();
        });

        let err = read_default(&bytes, "a.xlsx").unwrap_err();

        assert_eq!(
            err,
            TabularError::MergedCells {
                sheet: s("Sheet1"),
                ranges: vec![s("B3:B5")],
            }
        );
        assert_eq!(err.code(), "MERGED_CELLS");
        assert!(err.to_string().contains("B3:B5"));
    }

    #[test]
    fn a_sheet_without_cells_is_an_empty_sheet() {
        let bytes = one_sheet(&|_| {});
        assert_eq!(
            read_default(&bytes, "a.xlsx"),
            Err(TabularError::EmptySheet { sheet: s("Sheet1") })
        );
    }

    #[test]
    fn a_header_without_data_is_no_data() {
        let bytes = one_sheet(&|ws| write_row(ws, 0, &["姓名*", "身份证号*"]));
        assert_eq!(
            read_default(&bytes, "a.xlsx"),
            Err(TabularError::NoData { sheet: s("Sheet1") })
        );
    }

    #[test]
    fn too_many_rows_is_rejected() {
        let bytes = one_sheet(&|ws| {
            write_row(ws, 0, &["姓名"]);
            for r in 1..=4 {
                write_row(ws, r, &["张三"]);
            }
        });
        let limits = Limits {
            max_rows: 3,
            ..Limits::default()
        };
        assert_eq!(
            read(&bytes, "a.xlsx", &limits),
            Err(TabularError::TooManyRows {
                sheet: s("Sheet1"),
                limit: 3
            })
        );
        let limits = Limits {
            max_rows: 4,
            ..Limits::default()
        };
        assert_eq!(read(&bytes, "a.xlsx", &limits).unwrap()[0].rows.len(), 4);
    }

    #[test]
    fn too_many_columns_and_too_long_cells_are_rejected() {
        let bytes = one_sheet(&|ws| {
            write_row(ws, 0, &["a", "b", "c"]);
            write_row(ws, 1, &["1", "22222", "3"]);
        });
        let limits = Limits {
            max_columns: 2,
            ..Limits::default()
        };
        assert_eq!(
            read(&bytes, "a.xlsx", &limits),
            Err(TabularError::TooManyColumns {
                sheet: s("Sheet1"),
                limit: 2
            })
        );
        let limits = Limits {
            max_cell_chars: 4,
            ..Limits::default()
        };
        assert_eq!(
            read(&bytes, "a.xlsx", &limits),
            Err(TabularError::CellTooLong {
                sheet: s("Sheet1"),
                row: 2,
                column: s("B")
            })
        );
    }

    #[test]
    fn duplicate_headers_are_rejected_after_marker_stripping() {
        let bytes = one_sheet(&|ws| {
            write_row(ws, 0, &["姓名*", "电话", "姓名"]);
            write_row(ws, 1, &["张三", "1", "张三"]);
        });
        assert_eq!(
            read_default(&bytes, "a.xlsx"),
            Err(TabularError::DuplicateHeader {
                sheet: s("Sheet1"),
                header: s("姓名")
            })
        );
    }

    #[test]
    fn cells_beyond_the_header_are_ignored_when_empty_and_rejected_otherwise() {
        let bytes = one_sheet(&|ws| {
            write_row(ws, 0, &["姓名", "电话"]);
            write_row(ws, 1, &["张三", "1", " "]);
            write_row(ws, 2, &["李四", "2", "", "多余"]);
        });
        assert_eq!(
            read_default(&bytes, "a.xlsx"),
            Err(TabularError::ExtraCells {
                sheet: s("Sheet1"),
                row: 3
            })
        );
    }

    #[test]
    fn a_workbook_without_worksheets_is_an_empty_file() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name(NOTES_SHEET).unwrap();
        write_row(ws, 0, &["说明"]);
        let bytes = wb.save_to_buffer().unwrap();
        assert_eq!(read_default(&bytes, "a.xlsx"), Err(TabularError::EmptyFile));
    }

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

    // ---- zip bombs -----------------------------------------------------------------------

    #[test]
    fn a_zip_bomb_of_300_mib_is_rejected_without_inflating_it() {
        let bytes = zeros_zip("xl/worksheets/sheet1.xml", 300);
        assert!(bytes.len() < 2 * MIB, "fixture is {} bytes", bytes.len());
        assert_eq!(
            read_default(&bytes, "a.xlsx"),
            Err(TabularError::WorkbookTooLarge)
        );
    }

    /// Overwrites the uncompressed size in the local header and the central directory.
    fn lie_about_size(bytes: &mut [u8], size: u32) {
        let local = bytes.windows(4).position(|w| w == b"PK\x03\x04").unwrap();
        bytes[local + 22..local + 26].copy_from_slice(&size.to_le_bytes());
        let central = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        bytes[central + 24..central + 28].copy_from_slice(&size.to_le_bytes());
    }

    #[test]
    fn a_zip_bomb_whose_headers_lie_about_the_size_is_rejected() {
        let mut bytes = zeros_zip("xl/worksheets/sheet1.xml", 300);
        lie_about_size(&mut bytes, 1_000);
        assert_eq!(
            read_default(&bytes, "a.xlsx"),
            Err(TabularError::WorkbookTooLarge)
        );
    }

    #[test]
    fn the_inflated_total_is_counted_across_entries() {
        // Digits of a cheap generator: barely compressible, so no ratio check fires.
        let mut seed: u32 = 7;
        let noise: Vec<u8> = (0..600 * 1024)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                b'0' + ((seed >> 16) % 10) as u8
            })
            .collect();
        let bytes = zip_of(&[("a.xml", &noise), ("b.xml", &noise), ("c.xml", &noise)]);
        let limits = Limits {
            max_uncompressed_bytes: MIB as u64,
            ..Limits::default()
        };
        assert_eq!(
            read(&bytes, "a.xlsx", &limits),
            Err(TabularError::WorkbookTooLarge)
        );
    }

    /// Copies an archive, letting `edit` change each entry's bytes.
    fn rezip(bytes: &[u8], edit: impl Fn(&str, Vec<u8>) -> Vec<u8>) -> Vec<u8> {
        let mut archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut out = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).unwrap();
            let name = entry.name().unwrap().to_string();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            out.start_file(name.as_str(), options).unwrap();
            out.write_all(&edit(&name, data)).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn a_shared_string_count_that_the_file_cannot_hold_is_rejected() {
        let honest = one_sheet(&|ws| {
            write_row(ws, 0, &["姓名"]);
            write_row(ws, 1, &["张三"]);
        });
        let same = rezip(&honest, |_, data| data);
        assert_eq!(read_default(&same, "a.xlsx").unwrap()[0].rows.len(), 1);

        let lying = rezip(&honest, |name, data| {
            if name != "xl/sharedStrings.xml" {
                return data;
            }
            let xml = String::from_utf8(data).unwrap();
            assert!(xml.contains("uniqueCount=\"2\""), "{xml}");
            xml.replace("uniqueCount=\"2\"", "uniqueCount = '4000000000000'")
                .into_bytes()
        });
        assert_eq!(
            read_default(&lying, "a.xlsx"),
            Err(TabularError::WorkbookTooLarge)
        );
    }

    #[test]
    fn the_unique_count_scanner_reads_the_attribute_across_chunks() {
        let mut scanner = UniqueCountScanner::default();
        scanner.feed(b"<sst count=\"9\" uniqu");
        scanner.feed(b"eCount=\"12");
        scanner.feed(b"34\"><si>uniqueCountless</si>");
        assert_eq!(scanner.largest, 1234);
    }

    #[test]
    fn more_than_a_thousand_entries_is_too_large() {
        let names: Vec<String> = (0..1_001).map(|i| format!("x/{i}.xml")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
        let bytes = zip_of(&entries);
        assert_eq!(
            read_default(&bytes, "a.xlsx"),
            Err(TabularError::WorkbookTooLarge)
        );
    }

    // ---- csv -----------------------------------------------------------------------------

    fn expect_students(sheets: &[Sheet], name: &str) {
        assert_eq!(sheets.len(), 1);
        assert_eq!(sheets[0].name, name);
        assert_eq!(sheets[0].headers, strings(&["姓名", "班级"]));
        assert_eq!(sheets[0].rows[0].cells, strings(&["张三", "一(1)班"]));
        assert_eq!(sheets[0].rows[0].number, 2);
    }

    const STUDENTS: &str = "姓名*,班级\r\n张三,一(1)班\r\n";

    #[test]
    fn csv_in_utf8_with_and_without_bom() {
        expect_students(
            &read_default(STUDENTS.as_bytes(), "学生名单.csv").unwrap(),
            "学生名单",
        );
        let mut bom = UTF8_BOM.to_vec();
        bom.extend_from_slice(STUDENTS.as_bytes());
        expect_students(&read_default(&bom, "学生名单.CSV").unwrap(), "学生名单");
    }

    #[test]
    fn csv_in_gbk() {
        let (gbk, _, errors) = encoding_rs::GBK.encode(STUDENTS);
        assert!(!errors);
        assert!(std::str::from_utf8(&gbk).is_err());
        expect_students(&read_default(&gbk, "学生名单.csv").unwrap(), "学生名单");
    }

    #[test]
    fn csv_in_utf16le_with_bom() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in STUDENTS.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        expect_students(
            &read_default(&bytes, "C:\\导出\\学生名单.txt").unwrap(),
            "学生名单",
        );
    }

    #[test]
    fn tab_delimited_text_is_detected() {
        let text = "姓名\t班级\n张三\t一(1)班\n";
        expect_students(
            &read_default(text.as_bytes(), "学生名单.txt").unwrap(),
            "学生名单",
        );
        // Without a .csv/.txt name it is still read, because it decodes as text.
        expect_students(
            &read_default(text.as_bytes(), "学生名单").unwrap(),
            "学生名单",
        );
    }

    #[test]
    fn quoted_fields_with_newlines_count_as_one_row() {
        let text = "姓名,备注\n\"张三\",\"第一行\n第二行\"\n\n李四,\"a,b\"\n";
        let sheet = &read_default(text.as_bytes(), "a.csv").unwrap()[0];
        assert_eq!(sheet.rows[0].number, 2);
        assert_eq!(sheet.rows[0].cells, strings(&["张三", "第一行\n第二行"]));
        // Excel shows the blank line as row 3.
        assert_eq!(sheet.rows[1].number, 4);
        assert_eq!(sheet.rows[1].cells, strings(&["李四", "a,b"]));
    }

    #[test]
    fn undecodable_csv_is_bad_encoding() {
        let bytes = [b'a', b',', 0xFF, 0xFE, 0xFF, b'\n', 0x81, b'\n'];
        assert_eq!(
            read_default(&bytes, "a.csv"),
            Err(TabularError::BadEncoding)
        );
        let nul = b"a\0b\0,\0";
        assert_eq!(read_default(nul, "a.csv"), Err(TabularError::BadEncoding));
    }

    #[test]
    fn csv_rules_match_the_xlsx_rules() {
        assert_eq!(
            read_default(b"\xEF\xBB\xBF\r\n\r\n", "a.csv"),
            Err(TabularError::EmptyFile)
        );
        assert_eq!(
            read_default("姓名,电话\n".as_bytes(), "名单.csv"),
            Err(TabularError::NoData { sheet: s("名单") })
        );
        assert_eq!(
            read_default("姓名,电话\n张三,1,,x\n".as_bytes(), "名单.csv"),
            Err(TabularError::ExtraCells {
                sheet: s("名单"),
                row: 2
            })
        );
        let sheet = &read_default("姓名,电话,,\n张三,1,,\n".as_bytes(), "名单.csv").unwrap()[0];
        assert_eq!(sheet.headers, strings(&["姓名", "电话"]));
        assert_eq!(sheet.rows[0].cells, strings(&["张三", "1"]));
        let limits = Limits {
            max_rows: 1,
            ..Limits::default()
        };
        assert_eq!(
            read("姓名\n张三\n李四\n".as_bytes(), "名单.csv", &limits),
            Err(TabularError::TooManyRows {
                sheet: s("名单"),
                limit: 1
            })
        );
    }
}
