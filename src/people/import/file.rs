//! The import file: reading an upload and checking its sheets and headers against the
//! template of its kind (while the clerk waits), the templates themselves, and the error
//! report of a failed job. Pure work on bytes: no database, no clock.
//!
//! Must never put a clear ID number or phone into a report: row errors arrive masked.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::{GUARDIAN_SHEET, STAFF_SHEET, STUDENT_SHEET};
use crate::people::error::PeopleError;
use crate::people::model::*;
use crate::tabular::{self, ColumnKind, Limits, Sheet, SheetOut, TabularError};

/// A sheet whose headers match a template: cells are read by column name.
pub(super) struct Table<'a> {
    index: HashMap<&'static str, usize>,
    _rows: std::marker::PhantomData<&'a Sheet>,
}

impl<'a> Table<'a> {
    pub(super) fn new(
        sheet: &'a Sheet,
        cols: &[(&'static str, bool)],
    ) -> Result<Table<'a>, PeopleError> {
        let expected: Vec<&str> = cols.iter().map(|c| c.0).collect();
        let missing: Vec<&str> = cols
            .iter()
            .filter(|(c, required)| *required && !sheet.headers.iter().any(|h| h == c))
            .map(|c| c.0)
            .collect();
        let unknown: Vec<String> = sheet
            .headers
            .iter()
            .filter(|h| !h.is_empty() && !expected.contains(&h.as_str()))
            .cloned()
            .collect();
        if !missing.is_empty() || !unknown.is_empty() {
            let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
            return Err(PeopleError::WrongHeaders {
                sheet: sheet.name.clone(),
                missing: owned(&missing),
                unknown,
                expected: owned(&expected),
            });
        }
        let index = cols
            .iter()
            .filter_map(|(c, _)| sheet.headers.iter().position(|h| h == c).map(|i| (*c, i)))
            .collect();
        Ok(Table {
            index,
            _rows: std::marker::PhantomData,
        })
    }

    pub(super) fn cell(&self, row: &'a tabular::Row, col: &str) -> &'a str {
        self.index
            .get(col)
            .and_then(|i| row.cells.get(*i))
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// What a checked upload holds, ready for the job.
pub struct Upload {
    pub kind: ImportKind,
    pub file_name: String,
    pub sha256: String,
    pub(super) sheets: Vec<Sheet>,
}

impl Upload {
    pub fn total_rows(&self) -> usize {
        self.sheets.iter().map(|s| s.rows.len()).sum()
    }
}

fn pick<'s>(sheets: &'s [Sheet], name: &str, single_ok: bool) -> Option<&'s Sheet> {
    sheets
        .iter()
        .find(|s| s.name == name)
        .or_else(|| (single_ok && sheets.len() == 1).then(|| &sheets[0]))
}

/// Reads the file and checks its sheets and headers against the template of `kind`.
pub fn open(kind: ImportKind, file_name: &str, bytes: &[u8]) -> Result<Upload, PeopleError> {
    let sheets = tabular::read(bytes, file_name, &Limits::default()).map_err(PeopleError::File)?;
    let sha256 = hex::encode(Sha256::digest(bytes));
    let missing_sheet = |name: &str| PeopleError::SheetMissing {
        kind,
        sheet: name.to_string(),
        found: sheets.iter().map(|s| s.name.clone()).collect(),
    };
    let mut chosen = Vec::new();
    match kind {
        ImportKind::Staff => {
            let s = pick(&sheets, STAFF_SHEET, true).ok_or_else(|| missing_sheet(STAFF_SHEET))?;
            Table::new(s, &staff_cols::ALL)?;
            chosen.push(named(s, STAFF_SHEET));
        }
        ImportKind::Students => {
            let s =
                pick(&sheets, STUDENT_SHEET, true).ok_or_else(|| missing_sheet(STUDENT_SHEET))?;
            Table::new(s, &student_cols::ALL)?;
            chosen.push(named(s, STUDENT_SHEET));
            if let Some(g) = sheets.iter().find(|s| s.name == GUARDIAN_SHEET) {
                Table::new(g, &guardian_cols::ALL)?;
                chosen.push(g.clone());
            }
        }
        ImportKind::Guardians => {
            let s =
                pick(&sheets, GUARDIAN_SHEET, true).ok_or_else(|| missing_sheet(GUARDIAN_SHEET))?;
            Table::new(s, &guardian_cols::ALL)?;
            chosen.push(named(s, GUARDIAN_SHEET));
        }
    }
    if chosen.iter().all(|s| s.rows.is_empty()) {
        return Err(PeopleError::File(TabularError::NoData {
            sheet: chosen.first().map(|s| s.name.clone()).unwrap_or_default(),
        }));
    }
    Ok(Upload {
        kind,
        file_name: file_name.chars().take(200).collect(),
        sha256,
        sheets: chosen,
    })
}

/// A CSV's single table carries the file's stem as its name; reports name the sheet the
/// template calls it.
fn named(s: &Sheet, name: &str) -> Sheet {
    let mut s = s.clone();
    s.name = name.to_string();
    s
}

// ---- templates ---------------------------------------------------------------------------

fn header_row(cols: &[(&str, bool)]) -> Vec<String> {
    cols.iter()
        .map(|(c, req)| {
            if *req {
                format!("{c}*")
            } else {
                (*c).to_string()
            }
        })
        .collect()
}

fn widths(cols: &[(&str, bool)]) -> Vec<f64> {
    cols.iter()
        .map(|(c, _)| match *c {
            staff_cols::ID_NUMBER | guardian_cols::STUDENT_ID_NUMBER => 22.0,
            staff_cols::RESUME => 40.0,
            _ => 14.0,
        })
        .collect()
}

fn template_notes(kind: ImportKind) -> Vec<String> {
    let mut n = vec![
        "带 * 的列必须填写；请勿修改表头、勿合并单元格；每个文件不超过 10 MB、每个工作表不超过 20000 行。".to_string(),
        "身份证号、手机号请按文本填写（模板各列已设为文本格式），避免被 Excel 改成科学计数法。".to_string(),
        "导入时逐行校验：全部通过才会导入，否则一条也不导入，并可下载错误报告（行号、列、原因）。".to_string(),
        "重复导入同一文件不会产生重复数据：已存在的记录按身份证号（家长按手机号）更新。".to_string(),
    ];
    match kind {
        ImportKind::Staff => {
            n.push(format!("学历可填：{}。", EDUCATION_LEVELS.join("、")));
            n.push("所属部门可填多个，用顿号“、”分隔；不存在的部门会自动创建。".into());
            n.push("月薪单位为元，最多两位小数；起始聘用年份为四位年份，如 2012。".into());
        }
        ImportKind::Students | ImportKind::Guardians => {
            n.push("班级可填系统名称（如 三年级2班）或班级别名（如 向日葵班）。".into());
            n.push("“家长”工作表中每行是一位家长与一名学生的关系；学生可以在本文件的“学生”表中，也可以是已导入的学生。".into());
            n.push("关系可填：父亲、母亲、祖父、外祖父、祖母、外祖母、监护人、其他。".into());
            n.push("家长凭手机号接收验证码登录，导入后即可在手机上查看孩子信息（须先同意个人信息处理规则）。".into());
        }
    }
    n
}

/// The import template of `kind`: an .xlsx with text-formatted columns and a 填写说明
/// sheet, or a CSV of the header row (UTF-8 with BOM).
pub fn template(kind: ImportKind, csv: bool) -> Result<Vec<u8>, PeopleError> {
    let sheet = |name: &str, cols: &[(&str, bool)]| SheetOut {
        name: name.to_string(),
        headers: header_row(cols),
        rows: Vec::new(),
        widths: widths(cols),
        kinds: Vec::new(),
    };
    let sheets = match kind {
        ImportKind::Staff => vec![sheet(STAFF_SHEET, &staff_cols::ALL)],
        ImportKind::Students => vec![
            sheet(STUDENT_SHEET, &student_cols::ALL),
            sheet(GUARDIAN_SHEET, &guardian_cols::ALL),
        ],
        ImportKind::Guardians => vec![sheet(GUARDIAN_SHEET, &guardian_cols::ALL)],
    };
    if csv {
        return Ok(tabular::csv(&sheets[0].headers, &[]));
    }
    tabular::xlsx(&sheets, &template_notes(kind)).map_err(PeopleError::Spreadsheet)
}

/// The error report of a failed job.
pub fn report(errors: &[RowError], more: usize, csv: bool) -> Result<Vec<u8>, PeopleError> {
    let headers: Vec<String> = ["工作表", "行号", "列", "内容", "原因"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut rows: Vec<Vec<String>> = errors
        .iter()
        .map(|e| {
            vec![
                e.sheet.clone(),
                e.row.to_string(),
                e.column.clone(),
                e.value.clone(),
                e.reason.clone(),
            ]
        })
        .collect();
    if more > 0 {
        rows.push(vec![
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            format!("另有 {more} 条错误未列出，请修正以上错误后重新导入"),
        ]);
    }
    if csv {
        return Ok(tabular::csv(&headers, &rows));
    }
    tabular::xlsx(
        &[SheetOut {
            name: "错误报告".into(),
            headers,
            rows,
            widths: vec![10.0, 8.0, 18.0, 24.0, 60.0],
            // The row number is a number: a clerk sorts and filters by it.
            kinds: vec![ColumnKind::Text, ColumnKind::Count],
        }],
        &[],
    )
    .map_err(PeopleError::Spreadsheet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_readable_workbooks_whose_headers_open_as_templates() {
        for kind in [
            ImportKind::Staff,
            ImportKind::Students,
            ImportKind::Guardians,
        ] {
            let bytes = template(kind, false).unwrap();
            let err = open(kind, "t.xlsx", &bytes).err().unwrap();
            // headers match; an empty template has no data rows
            assert_eq!(err.code(), "NO_DATA", "{kind:?}");
        }
    }
}
