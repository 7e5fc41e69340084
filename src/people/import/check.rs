//! Checking every row of an upload before anything is written: each row through the same
//! validation as the forms, duplicates within the file, staff numbers owned by someone
//! else, classes that do not exist, guardians of children neither in the file nor in the
//! school. Row errors are collected (the first [`MAX_KEPT_ERRORS`] kept) with the value
//! masked where it is personal data.
//!
//! Must never write: the checked plans go to `write.rs` only when no row was refused.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use uuid::Uuid;

use super::file::{Table, Upload};
use super::jobs::progress;
use super::{GUARDIAN_SHEET, MAX_KEPT_ERRORS, STUDENT_SHEET};
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::people::error::PeopleError;
use crate::people::model::*;
use crate::people::service::{self, ClassIndex};
use crate::pii::IdNumber;
use crate::tabular::{self, Sheet};
use crate::tenancy::model::TenantContext;

/// Rows checked between two progress reports.
const PROGRESS_EVERY: usize = 1_000;

/// Collects row errors, keeping the first [`MAX_KEPT_ERRORS`].
#[derive(Default)]
pub(super) struct Errors {
    pub(super) kept: Vec<RowError>,
    pub(super) count: usize,
}

impl Errors {
    fn push(
        &mut self,
        sheet: &str,
        row: u32,
        column: &str,
        value: &str,
        reason: impl Into<String>,
    ) {
        self.count += 1;
        if self.kept.len() < MAX_KEPT_ERRORS {
            self.kept.push(RowError {
                sheet: sheet.to_string(),
                row,
                column: column.to_string(),
                value: shown_value(column, value),
                reason: reason.into(),
            });
        }
    }

    fn fields(&mut self, sheet: &str, row: &tabular::Row, t: &Table<'_>, errs: Vec<FieldError>) {
        for e in errs {
            let v = t.cell(row, &e.field).to_string();
            self.push(sheet, row.number, &e.field, &v, e.reason);
        }
    }
}

/// Personal-data columns are masked in reports: the report is a file that gets mailed
/// around, and the clerk has the clear value in their own file at the named row.
fn shown_value(column: &str, value: &str) -> String {
    let pii = matches!(column, "身份证号" | "学生身份证号" | "手机号");
    let v: String = value.chars().take(100).collect();
    if !pii || v.is_empty() {
        return v;
    }
    let chars: Vec<char> = v.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 4))
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn check_staff(
    st: &Ctx,
    tx: &mut TenantTx,
    sheet: &Sheet,
    today: NaiveDate,
    errors: &mut Errors,
    processed: &mut usize,
    tenant: &TenantContext,
    job: Uuid,
) -> Result<Vec<StaffInput>, PeopleError> {
    let t = Table::new(sheet, &staff_cols::ALL)?;
    let mut ok: Vec<(u32, StaffInput)> = Vec::with_capacity(sheet.rows.len());
    let mut seen_no: HashMap<String, u32> = HashMap::new();
    let mut seen_id: HashMap<String, u32> = HashMap::new();
    for row in &sheet.rows {
        let f = StaffFields {
            staff_no: t.cell(row, staff_cols::STAFF_NO).into(),
            name: t.cell(row, staff_cols::NAME).into(),
            id_number: t.cell(row, staff_cols::ID_NUMBER).into(),
            phone: t.cell(row, staff_cols::PHONE).into(),
            qualification_no: t.cell(row, staff_cols::QUALIFICATION).into(),
            education: t.cell(row, staff_cols::EDUCATION).into(),
            title: t.cell(row, staff_cols::TITLE).into(),
            employed_since: t.cell(row, staff_cols::EMPLOYED_SINCE).into(),
            duties: t.cell(row, staff_cols::DUTIES).into(),
            monthly_salary: t.cell(row, staff_cols::SALARY).into(),
            departments: t.cell(row, staff_cols::DEPARTMENTS).into(),
            resume: t.cell(row, staff_cols::RESUME).into(),
        };
        match f.check(today) {
            Ok(s) => {
                let mut dup = false;
                if let Some(first) = seen_no.insert(s.staff_no.clone(), row.number) {
                    errors.push(
                        &sheet.name,
                        row.number,
                        staff_cols::STAFF_NO,
                        &s.staff_no,
                        format!("工号与第 {first} 行重复"),
                    );
                    dup = true;
                }
                if let Some(first) = seen_id.insert(s.id_number.as_str().to_string(), row.number) {
                    errors.push(
                        &sheet.name,
                        row.number,
                        staff_cols::ID_NUMBER,
                        t.cell(row, staff_cols::ID_NUMBER),
                        format!("身份证号与第 {first} 行重复"),
                    );
                    dup = true;
                }
                if !dup {
                    ok.push((row.number, s));
                }
            }
            Err(e) => errors.fields(&sheet.name, row, &t, e),
        }
        *processed += 1;
        if processed.is_multiple_of(PROGRESS_EVERY) {
            progress(st, tenant, job, JobPhase::Validating, *processed).await?;
        }
    }
    let refs: Vec<(usize, &StaffInput)> = ok.iter().enumerate().map(|(i, (_, s))| (i, s)).collect();
    for (i, no) in service::staff_no_conflicts(tx, &st.keys, &refs).await? {
        errors.push(
            &sheet.name,
            ok[i].0,
            staff_cols::STAFF_NO,
            &no,
            "该工号已被学校里另一位教职工（身份证号不同）使用",
        );
    }
    Ok(ok.into_iter().map(|(_, s)| s).collect())
}

pub(super) struct StudentPlan {
    pub(super) rows: Vec<(StudentInput, i64)>,
}

pub(super) struct GuardianPlan {
    pub(super) rows: Vec<GuardianInput>,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn check_students(
    st: &Ctx,
    tx: &mut TenantTx,
    up: &Upload,
    today: NaiveDate,
    errors: &mut Errors,
    processed: &mut usize,
    tenant: &TenantContext,
    job: Uuid,
) -> Result<(StudentPlan, GuardianPlan), PeopleError> {
    let classes = ClassIndex::load(tx).await?;
    let mut students = StudentPlan { rows: Vec::new() };
    // clear ID → (row, name): children named by the 家长 sheet may be in this file
    let mut in_file: HashMap<String, (u32, String)> = HashMap::new();
    let student_sheet = up
        .sheets
        .iter()
        .find(|s| s.name == STUDENT_SHEET && up.kind == ImportKind::Students);
    if let Some(sheet) = student_sheet {
        let t = Table::new(sheet, &student_cols::ALL)?;
        for row in &sheet.rows {
            let f = StudentFields {
                name: t.cell(row, student_cols::NAME).into(),
                id_number: t.cell(row, student_cols::ID_NUMBER).into(),
                class: t.cell(row, student_cols::CLASS).into(),
            };
            match f.check(today) {
                Ok(s) => {
                    let class = classes.get(&s.class);
                    if class.is_none() {
                        errors.push(
                            &sheet.name,
                            row.number,
                            student_cols::CLASS,
                            &s.class,
                            "班级不存在（请填写系统名称如“三年级2班”或班级别名），或该班已毕业",
                        );
                    }
                    let key = s.id_number.as_str().to_string();
                    if let Some((first, _)) = in_file.get(&key) {
                        errors.push(
                            &sheet.name,
                            row.number,
                            student_cols::ID_NUMBER,
                            t.cell(row, student_cols::ID_NUMBER),
                            format!("身份证号与第 {first} 行重复"),
                        );
                    } else {
                        in_file.insert(key, (row.number, s.name.clone()));
                        if let Some(c) = class {
                            students.rows.push((s, c));
                        }
                    }
                }
                Err(e) => errors.fields(&sheet.name, row, &t, e),
            }
            *processed += 1;
            if processed.is_multiple_of(PROGRESS_EVERY) {
                progress(st, tenant, job, JobPhase::Validating, *processed).await?;
            }
        }
    }
    let mut guardians = GuardianPlan { rows: Vec::new() };
    if let Some(sheet) = up.sheets.iter().find(|s| s.name == GUARDIAN_SHEET) {
        let t = Table::new(sheet, &guardian_cols::ALL)?;
        let mut checked: Vec<(u32, GuardianInput)> = Vec::new();
        let mut seen: HashMap<(String, String), u32> = HashMap::new();
        for row in &sheet.rows {
            let f = GuardianFields {
                student_id_number: t.cell(row, guardian_cols::STUDENT_ID_NUMBER).into(),
                student_name: t.cell(row, guardian_cols::STUDENT_NAME).into(),
                name: t.cell(row, guardian_cols::NAME).into(),
                relation: t.cell(row, guardian_cols::RELATION).into(),
                phone: t.cell(row, guardian_cols::PHONE).into(),
            };
            match f.check(today) {
                Ok(g) => {
                    let key = (
                        g.student_id_number.as_str().to_string(),
                        g.phone.as_str().to_string(),
                    );
                    if let Some(first) = seen.insert(key, row.number) {
                        errors.push(
                            &sheet.name,
                            row.number,
                            guardian_cols::PHONE,
                            t.cell(row, guardian_cols::PHONE),
                            format!("同一学生的同一家长与第 {first} 行重复"),
                        );
                    } else {
                        checked.push((row.number, g));
                    }
                }
                Err(e) => errors.fields(&sheet.name, row, &t, e),
            }
            *processed += 1;
            if processed.is_multiple_of(PROGRESS_EVERY) {
                progress(st, tenant, job, JobPhase::Validating, *processed).await?;
            }
        }
        // Children not in this file must already be in the school.
        let outside: Vec<&IdNumber> = checked
            .iter()
            .filter(|(_, g)| !in_file.contains_key(g.student_id_number.as_str()))
            .map(|(_, g)| &g.student_id_number)
            .collect();
        let known = service::students_by_id_number(tx, &st.keys, &outside).await?;
        let mut per_student: HashMap<String, HashSet<String>> = HashMap::new();
        for (n, g) in checked {
            let name = match in_file.get(g.student_id_number.as_str()) {
                Some((_, name)) => Some(name.clone()),
                None => known
                    .get(
                        &st.keys
                            .pii
                            .blind_index(service::ID_DOMAIN, g.student_id_number.as_str()),
                    )
                    .map(|(_, name)| name.clone()),
            };
            match name {
                None => errors.push(
                    &sheet.name,
                    n,
                    guardian_cols::STUDENT_ID_NUMBER,
                    &g.student_id_number.masked(),
                    "找不到该学生：请先导入学生，或在同一文件的“学生”表中填写",
                ),
                Some(name) if name != g.student_name => errors.push(
                    &sheet.name,
                    n,
                    guardian_cols::STUDENT_NAME,
                    &g.student_name,
                    format!("学生姓名与身份证号不符（系统中为“{name}”）"),
                ),
                Some(_) => {
                    let set = per_student
                        .entry(g.student_id_number.as_str().to_string())
                        .or_default();
                    set.insert(g.phone.as_str().to_string());
                    if set.len() > 6 {
                        errors.push(
                            &sheet.name,
                            n,
                            guardian_cols::PHONE,
                            g.phone.as_str(),
                            "每名学生最多关联 6 位家长",
                        );
                    } else {
                        guardians.rows.push(g);
                    }
                }
            }
        }
    }
    Ok((students, guardians))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_values_of_personal_data_columns_are_masked() {
        assert_eq!(
            shown_value("身份证号", "44200020150101123X"),
            "44**************3X"
        );
        assert_eq!(shown_value("手机号", "13800001234"), "13*******34");
        assert_eq!(shown_value("班级", "三年级9班"), "三年级9班");
    }
}
