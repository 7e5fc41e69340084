//! Workbooks (.xlsx): the visible worksheets, their cells as the text a clerk sees.
//!
//! Owns opening the workbook once [`super::archive_guard`] has passed the archive,
//! choosing the sheets (visible worksheets, not our templates' instructions sheet),
//! streaming cells sparse by row, merged-cell ranges, and turning numbers, dates and
//! booleans into text ("13800000000", never "1.38e10"). It must never open a workbook the
//! guard has not checked, and never allocate from a sheet's declared dimensions.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{
    DataRef, ExcelDateTime, ExcelDateTimeType, Reader, SheetType, SheetVisible, Xlsx, XlsxError,
};

use super::archive_guard::check_archive;
use super::read::{build_sheet, too_many_rows, Limits, Parsed, RawRow, Sheet};
use super::write::NOTES_SHEET;
use super::TabularError;

pub(super) fn read_xlsx(bytes: &[u8], limits: &Limits) -> Result<Vec<Sheet>, TabularError> {
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
    use rust_xlsxwriter::{ExcelDateTime as XlsxDate, Format, Workbook, Worksheet};

    use super::*;
    use crate::tabular::fixtures::{one_sheet, read_default, s, strings, workbook, write_row};
    use crate::tabular::read::Row;
    use crate::tabular::{read, xlsx, SheetOut};

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
}
