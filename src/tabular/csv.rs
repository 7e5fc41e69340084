//! Text tables (.csv and .txt): decoding the bytes and reading the records.
//!
//! Owns text decoding (UTF-8 with or without BOM, UTF-16 with BOM, else GB18030, a
//! superset of GBK), delimiter detection (tab or comma) and row numbers as Excel would
//! show the file, quoted multi-line fields included. It hands the records to the table
//! rules in [`super::read`] and must never apply rules of its own that a workbook would
//! not get.

use super::read::{build_sheet, too_many_rows, Limits, Parsed, RawRow, Sheet};
use super::TabularError;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes CSV bytes: UTF-8 (BOM optional), UTF-16LE/BE with BOM, else GB18030 (a superset
/// of GBK). `None` when no decoding is clean or the text holds control characters that a
/// text table never has (a sign of a binary file).
pub(super) fn decode_text(bytes: &[u8]) -> Option<String> {
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

pub(super) fn read_csv(
    text: &str,
    name: &str,
    limits: &Limits,
) -> Result<Vec<Sheet>, TabularError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tabular::fixtures::{read_default, s, strings};
    use crate::tabular::read;

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
