//! Writing templates and error reports: .xlsx workbooks and UTF-8 CSV.
//!
//! Owns the output side of `tabular`. Cells are text, and data columns are formatted as
//! text ("@") so that what a clerk types later (ID numbers, phones) stays text, unless the
//! sheet declares a column a count or an amount of money ([`ColumnKind`]): those cells are
//! written as numbers (amounts with a yuan format) so that a spreadsheet can sum them, and
//! this is the one place that does it for every export. Every text value goes through
//! [`neutralise`]. It must never write a value that a spreadsheet could run as a formula:
//! error reports echo what users uploaded.

use rust_xlsxwriter::{Color, Format, Workbook, Worksheet, XlsxError};

use super::TabularError;

/// Name of the instructions sheet `xlsx()` appends; the reader skips a sheet of this name
/// so a filled-in template reads back as its data sheets only.
pub(super) const NOTES_SHEET: &str = "填写说明";

const DEFAULT_WIDTH: f64 = 14.0;
const NOTES_WIDTH: f64 = 100.0;
/// Excel's limits: 31 UTF-16 units per sheet name, 32,767 characters per cell.
const MAX_SHEET_NAME_UNITS: usize = 31;
const MAX_CELL_CHARS: usize = 32_767;
/// Light blue header fill.
const HEADER_FILL: u32 = 0xDDEBF7;
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// Excel's built-in number format 49 is "@" (text); WPS and LibreOffice know it too.
const TEXT_NUM_FORMAT: u8 = 49;
/// Amounts in yuan: thousands separators, two decimals, the yuan sign; negatives in red.
const MONEY_NUM_FORMAT: &str = "\"¥\"#,##0.00;[Red]-\"¥\"#,##0.00";
/// Counts: a whole number.
const COUNT_NUM_FORMAT: &str = "0";

/// What a column of an exported sheet holds, and so how its cells are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColumnKind {
    /// Text, formatted as text ("@"): ID numbers and phones stay as typed.
    #[default]
    Text,
    /// A whole number (orders, rows), written as a number.
    Count,
    /// An amount in yuan such as "120.50", written as a number with a yuan format.
    Money,
}

/// One worksheet to write.
#[derive(Debug, Clone, Default)]
pub struct SheetOut {
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Column widths in characters (same length as headers, or empty for a default of 14).
    pub widths: Vec<f64>,
    /// What each column holds (same length as headers, or shorter: the rest are text).
    pub kinds: Vec<ColumnKind>,
}

/// An .xlsx workbook. Header row bold with a light fill and frozen; every text column of
/// every sheet formatted as text ("@") for all rows, so that an ID number or phone a clerk
/// types into the template stays text instead of becoming 4.4e17; count and money columns
/// ([`SheetOut::kinds`]) hold numbers. `notes`, when not empty, adds a
/// last sheet "填写说明" with one note per row in column A.
///
/// Sheet names are made valid for Excel (forbidden characters replaced by '_', cut to 31
/// characters, made unique) rather than failing. A failure of the xlsx library itself is
/// returned as `Corrupt` with the detail.
pub fn xlsx(sheets: &[SheetOut], notes: &[String]) -> Result<Vec<u8>, TabularError> {
    build_workbook(sheets, notes)
        .and_then(|mut workbook| workbook.save_to_buffer())
        .map_err(|e| TabularError::Corrupt(format!("writing xlsx: {e}")))
}

/// UTF-8 CSV with a BOM (so Excel in China opens it correctly), CRLF line ends, RFC 4180
/// quoting. Rows shorter than the headers are padded with empty cells.
pub fn csv(headers: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * (rows.len() + 1));
    out.extend_from_slice(UTF8_BOM);
    write_csv_record(&mut out, headers, headers.len());
    for row in rows {
        write_csv_record(&mut out, row, headers.len());
    }
    out
}

/// Neutralises spreadsheet formula injection: text that starts with `=`, `+`, `-`, `@`, tab
/// or CR gets a leading `'`, unless it is a plain number such as "-5" or "+86".
pub(super) fn neutralise(value: &str) -> std::borrow::Cow<'_, str> {
    let risky = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_plain_number(value) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// `[+-]digits[.digits]` (or `[+-].digits`): no exponent, no spaces, nothing a
/// spreadsheet could read as a formula.
fn is_plain_number(value: &str) -> bool {
    let unsigned = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (int, frac) = match unsigned.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    match frac {
        None => !int.is_empty() && all_digits(int),
        Some(frac) => (!int.is_empty() || !frac.is_empty()) && all_digits(int) && all_digits(frac),
    }
}

fn build_workbook(sheets: &[SheetOut], notes: &[String]) -> Result<Workbook, XlsxError> {
    let mut workbook = Workbook::new();
    let text = Format::new().set_num_format_index(TEXT_NUM_FORMAT);
    let header = Format::new()
        .set_num_format_index(TEXT_NUM_FORMAT)
        .set_bold()
        .set_background_color(Color::RGB(HEADER_FILL));
    let formats = Formats {
        text,
        header,
        money: Format::new().set_num_format(MONEY_NUM_FORMAT),
        count: Format::new().set_num_format(COUNT_NUM_FORMAT),
    };
    let text = &formats.text;

    // Reserve the notes sheet's name so a data sheet called "填写说明" does not take it.
    let mut used_names: Vec<String> = Vec::new();
    if !notes.is_empty() {
        used_names.push(NOTES_SHEET.to_lowercase());
    }

    for (index, sheet) in sheets.iter().enumerate() {
        let name = unique_sheet_name(&sheet.name, index, &mut used_names);
        let worksheet = workbook.add_worksheet();
        worksheet.set_name(name)?;
        write_sheet(worksheet, sheet, &formats)?;
    }

    if !notes.is_empty() {
        let worksheet = workbook.add_worksheet();
        worksheet.set_name(NOTES_SHEET)?;
        worksheet.set_column_format(0, text)?;
        worksheet.set_column_width(0, NOTES_WIDTH)?;
        for (row, note) in notes.iter().enumerate() {
            worksheet.write_string_with_format(row_number(row)?, 0, cell_text(note), text)?;
        }
    }
    Ok(workbook)
}

/// The cell formats of a workbook.
struct Formats {
    text: Format,
    header: Format,
    money: Format,
    count: Format,
}

impl Formats {
    fn of(&self, kind: ColumnKind) -> &Format {
        match kind {
            ColumnKind::Text => &self.text,
            ColumnKind::Count => &self.count,
            ColumnKind::Money => &self.money,
        }
    }
}

/// The number in a count or money cell; `None` (written as text) for anything else, such
/// as an empty cell or a note.
fn number_of(kind: ColumnKind, value: &str) -> Option<f64> {
    let v = value.trim();
    match kind {
        ColumnKind::Text => None,
        ColumnKind::Count => v.parse::<i64>().ok().map(|n| n as f64),
        // Parsed as a decimal first so that only plain amounts ("1,234" or "1e3" are not)
        // become numbers; a double holds every amount to the fen up to 10^13 yuan.
        ColumnKind::Money => is_plain_number(v)
            .then(|| v.parse::<rust_decimal::Decimal>().ok())
            .flatten()
            .and_then(|d| rust_decimal::prelude::ToPrimitive::to_f64(&d)),
    }
}

fn write_sheet(
    worksheet: &mut Worksheet,
    sheet: &SheetOut,
    formats: &Formats,
) -> Result<(), XlsxError> {
    let kind = |col: usize| sheet.kinds.get(col).copied().unwrap_or_default();
    for (index, title) in sheet.headers.iter().enumerate() {
        let col = column_number(index)?;
        let width = sheet
            .widths
            .get(usize::from(col))
            .copied()
            .filter(|w| w.is_finite() && *w > 0.0)
            .map_or(DEFAULT_WIDTH, |w| w.min(255.0));
        // The column format is what Excel applies to cells a clerk types into later.
        worksheet.set_column_format(col, formats.of(kind(index)))?;
        worksheet.set_column_width(col, width)?;
        worksheet.write_string_with_format(0, col, cell_text(title), &formats.header)?;
    }
    worksheet.set_freeze_panes(1, 0)?;

    for (index, values) in sheet.rows.iter().enumerate() {
        let row = row_number(index + 1)?;
        for (c, value) in values.iter().enumerate() {
            let col = column_number(c)?;
            match number_of(kind(c), value) {
                Some(n) => worksheet.write_number_with_format(row, col, n, formats.of(kind(c)))?,
                None => {
                    worksheet.write_string_with_format(row, col, cell_text(value), &formats.text)?
                }
            };
        }
    }
    Ok(())
}

/// Neutralised and cut to Excel's cell limit (a longer string makes the library fail).
fn cell_text(value: &str) -> String {
    let safe = neutralise(value);
    match safe.char_indices().nth(MAX_CELL_CHARS) {
        Some((cut, _)) => safe[..cut].to_string(),
        None => safe.into_owned(),
    }
}

fn row_number(index: usize) -> Result<u32, XlsxError> {
    u32::try_from(index).map_err(|_| XlsxError::RowColumnLimitError)
}

fn column_number(index: usize) -> Result<u16, XlsxError> {
    u16::try_from(index).map_err(|_| XlsxError::RowColumnLimitError)
}

/// A name Excel accepts and that no earlier sheet uses (Excel compares names ignoring case).
fn unique_sheet_name(wanted: &str, index: usize, used: &mut Vec<String>) -> String {
    let cleaned: String = wanted
        .trim()
        .chars()
        .map(|c| match c {
            '*' | '?' | ':' | '[' | ']' | '\\' | '/' => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim_matches('\'').to_string();
    let base = if cleaned.is_empty() {
        format!("Sheet{}", index + 1)
    } else {
        cleaned
    };

    let mut attempt = 1usize;
    loop {
        let suffix = if attempt == 1 {
            String::new()
        } else {
            format!("({attempt})")
        };
        let room = MAX_SHEET_NAME_UNITS.saturating_sub(suffix.len());
        let candidate = format!("{}{suffix}", truncate_utf16(&base, room));
        let key = candidate.to_lowercase();
        if !used.contains(&key) {
            used.push(key);
            return candidate;
        }
        attempt += 1;
    }
}

fn truncate_utf16(s: &str, max_units: usize) -> &str {
    let mut units = 0;
    for (at, c) in s.char_indices() {
        units += c.len_utf16();
        if units > max_units {
            return &s[..at];
        }
    }
    s
}

fn write_csv_record(out: &mut Vec<u8>, values: &[String], min_len: usize) {
    let len = values.len().max(min_len);
    for index in 0..len {
        if index > 0 {
            out.push(b',');
        }
        let value = values.get(index).map_or("", String::as_str);
        let value = neutralise(value);
        if value.contains([',', '"', '\r', '\n']) {
            out.push(b'"');
            out.extend_from_slice(value.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(value.as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::tabular::{read, Limits};

    fn s(v: &str) -> String {
        v.to_string()
    }

    fn zip_part(bytes: &[u8], name: &str) -> String {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut part = String::new();
        zip.by_name(name)
            .unwrap()
            .read_to_string(&mut part)
            .unwrap();
        part
    }

    #[test]
    fn formula_like_text_gets_a_leading_apostrophe() {
        assert_eq!(neutralise("=1+1"), "'=1+1");
        assert_eq!(neutralise("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(neutralise("-2+3"), "'-2+3");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("\t=1"), "'\t=1");
        assert_eq!(neutralise("\r=1"), "'\r=1");
        assert_eq!(neutralise("-"), "'-");
        assert_eq!(neutralise("+86 138"), "'+86 138");
    }

    #[test]
    fn plain_numbers_and_ordinary_text_are_left_alone() {
        assert_eq!(neutralise("-5"), "-5");
        assert_eq!(neutralise("+86"), "+86");
        assert_eq!(neutralise("-3.5"), "-3.5");
        assert_eq!(neutralise("张三"), "张三");
        assert_eq!(neutralise("a=b"), "a=b");
        assert_eq!(neutralise(""), "");
        assert_eq!(neutralise("-1e5"), "'-1e5");
    }

    #[test]
    fn csv_starts_with_a_bom_and_uses_crlf_and_rfc4180_quoting() {
        let out = csv(
            &[s("姓名"), s("备注")],
            &[
                vec![s("张三"), s("说\"你好\"，再见,\n下一行")],
                vec![s("李四")],
            ],
        );
        assert!(out.starts_with(UTF8_BOM));
        let text = std::str::from_utf8(&out[3..]).unwrap();
        assert_eq!(
            text,
            "姓名,备注\r\n张三,\"说\"\"你好\"\"，再见,\n下一行\"\r\n李四,\r\n"
        );
    }

    #[test]
    fn csv_neutralises_formula_injection() {
        let out = csv(
            &[s("值")],
            &[vec![s("=HYPERLINK(\"http://x\")")], vec![s("-5")]],
        );
        let text = std::str::from_utf8(&out[3..]).unwrap();
        assert_eq!(text, "值\r\n\"'=HYPERLINK(\"\"http://x\"\")\"\r\n-5\r\n");
    }

    #[test]
    fn csv_output_reads_back() {
        let out = csv(
            &[s("姓名*"), s("身份证号")],
            &[
                vec![s("张三"), s("44010120000101123X")],
                vec![s("王五, 二"), s("多\n行")],
            ],
        );
        let sheets = read(&out, "导出.csv", &Limits::default()).unwrap();
        assert_eq!(sheets.len(), 1);
        assert_eq!(sheets[0].name, "导出");
        assert_eq!(sheets[0].headers, vec![s("姓名"), s("身份证号")]);
        assert_eq!(
            sheets[0].rows[0].cells,
            vec![s("张三"), s("44010120000101123X")]
        );
        assert_eq!(sheets[0].rows[1].cells, vec![s("王五, 二"), s("多\n行")]);
        assert_eq!(sheets[0].rows[1].number, 3);
    }

    #[test]
    fn xlsx_neutralises_formula_injection_in_every_sheet() {
        let sheet = SheetOut {
            name: s("错误报告"),
            headers: vec![s("行号"), s("原值")],
            rows: vec![vec![s("2"), s("=1+1")], vec![s("3"), s("-5")]],
            widths: vec![],
            kinds: vec![],
        };
        let bytes = xlsx(&[sheet], &[s("@注意")]).unwrap();
        let sheets = read(&bytes, "报告.xlsx", &Limits::default()).unwrap();
        assert_eq!(sheets[0].rows[0].cells, vec![s("2"), s("'=1+1")]);
        assert_eq!(sheets[0].rows[1].cells, vec![s("3"), s("-5")]);
        let strings = zip_part(&bytes, "xl/sharedStrings.xml");
        assert!(strings.contains("'@注意"), "{strings}");
        assert!(!strings.contains(">=1+1<"));
    }

    #[test]
    fn xlsx_formats_every_column_as_text_with_a_frozen_bold_header() {
        let sheet = SheetOut {
            name: s("学生"),
            headers: vec![s("姓名*"), s("身份证号*"), s("手机号")],
            rows: vec![],
            widths: vec![10.0, 22.0, 16.0],
            kinds: vec![],
        };
        let bytes = xlsx(&[sheet], &[]).unwrap();

        let styles = zip_part(&bytes, "xl/styles.xml");
        // 49 is Excel's built-in "@" (text) number format.
        assert!(styles.contains("numFmtId=\"49\""), "{styles}");
        assert!(styles.contains("<b/>"), "{styles}");
        assert!(styles.contains("FFDDEBF7"), "{styles}");

        let xml = zip_part(&bytes, "xl/worksheets/sheet1.xml");
        assert!(xml.contains("state=\"frozen\""), "{xml}");
        assert!(xml.contains("ySplit=\"1\""), "{xml}");
        let cols = xml.split("<col ").skip(1).count();
        assert_eq!(cols, 3, "{xml}");
        assert!(
            xml.split("<col ").skip(1).all(|c| c.contains("style=")),
            "{xml}"
        );
    }

    #[test]
    fn money_and_count_columns_are_numbers_with_a_format_and_text_stays_text() {
        let sheet = SheetOut {
            name: s("结算"),
            headers: vec![s("课程"), s("订单数"), s("金额（元）")],
            rows: vec![
                vec![s("午托"), s("3"), s("1234.50")],
                vec![s("合计"), s(""), s("-5.00")],
            ],
            widths: vec![],
            kinds: vec![ColumnKind::Text, ColumnKind::Count, ColumnKind::Money],
        };
        let bytes = xlsx(&[sheet], &[]).unwrap();
        let xml = zip_part(&bytes, "xl/worksheets/sheet1.xml");
        assert!(xml.contains("<v>1234.5</v>"), "{xml}");
        assert!(xml.contains("<v>3</v>"), "{xml}");
        assert!(xml.contains("<v>-5</v>"), "{xml}");
        let styles = zip_part(&bytes, "xl/styles.xml");
        assert!(styles.contains("#,##0.00"), "{styles}");
        assert_eq!(number_of(ColumnKind::Money, "1e3"), None);
        assert_eq!(number_of(ColumnKind::Text, "12"), None);
    }

    #[test]
    fn xlsx_adds_the_notes_sheet_last() {
        let sheet = SheetOut {
            name: s("学生"),
            headers: vec![s("姓名")],
            ..SheetOut::default()
        };
        let bytes = xlsx(&[sheet], &[s("带 * 的列必填"), s("身份证号请填 18 位")]).unwrap();
        let workbook = zip_part(&bytes, "xl/workbook.xml");
        let student = workbook.find("name=\"学生\"").unwrap();
        let notes = workbook.find("name=\"填写说明\"").unwrap();
        assert!(student < notes);
        let xml = zip_part(&bytes, "xl/worksheets/sheet2.xml");
        assert_eq!(xml.matches("<c r=\"A").count(), 2, "{xml}");
    }

    #[test]
    fn xlsx_makes_sheet_names_valid_and_unique() {
        let mut used = vec![NOTES_SHEET.to_lowercase()];
        assert_eq!(unique_sheet_name("a/b:c", 0, &mut used), "a_b_c");
        assert_eq!(unique_sheet_name("A/B:C", 1, &mut used), "A_B_C(2)");
        assert_eq!(unique_sheet_name("填写说明", 2, &mut used), "填写说明(2)");
        assert_eq!(unique_sheet_name("  ", 3, &mut used), "Sheet4");
        let long = "长".repeat(40);
        let name = unique_sheet_name(&long, 4, &mut used);
        assert_eq!(name.chars().count(), 31);
        let again = unique_sheet_name(&long, 5, &mut used);
        assert_eq!(again, format!("{}(2)", "长".repeat(28)));

        let sheets = vec![
            SheetOut {
                name: s("学生"),
                headers: vec![s("姓名")],
                ..SheetOut::default()
            },
            SheetOut {
                name: s("学生"),
                headers: vec![s("姓名")],
                ..SheetOut::default()
            },
        ];
        assert!(xlsx(&sheets, &[]).is_ok());
    }
}
