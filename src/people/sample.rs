//! Generated, fictitious rosters: valid-looking ID numbers (correct checksum, Zhongshan
//! region code 442000) and phones in the 199 range, for the demo, the tests and the import
//! benchmark. Never real people: the sequence numbers are derived from a counter.

use chrono::{Datelike, Duration, NaiveDate};

use super::import::{GUARDIAN_SHEET, STUDENT_SHEET};
use super::model::{guardian_cols, student_cols};
use crate::pii::check_char;
use crate::tabular::{self, SheetOut, TabularError};

/// An 18-character ID number with a valid check character.
pub fn id_number(region: &str, birth: NaiveDate, seq: u32) -> String {
    let body = format!(
        "{region:0>6.6}{:04}{:02}{:02}{:03}",
        birth.year(),
        birth.month(),
        birth.day(),
        seq % 1000
    );
    let mut digits = [0u8; 17];
    for (d, b) in digits.iter_mut().zip(body.bytes()) {
        *d = b.wrapping_sub(b'0');
    }
    format!("{body}{}", char::from(check_char(&digits)))
}

const SURNAMES: [&str; 12] = [
    "陈", "李", "黄", "张", "梁", "林", "何", "吴", "郑", "刘", "冯", "杨",
];
const GIVEN: [&str; 12] = [
    "子轩", "欣怡", "浩然", "梓涵", "宇航", "诗琪", "俊熙", "雨桐", "嘉豪", "思彤", "晓峰", "可馨",
];

/// `n` students spread over `classes` (names as clerks write them), each with one guardian
/// (alternately mother and father). Rows in template column order.
pub fn roster(
    n: usize,
    classes: &[&str],
    first_phone: u64,
) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let mut students = Vec::with_capacity(n);
    let mut guardians = Vec::with_capacity(n);
    let base = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or_default();
    for i in 0..n {
        let surname = SURNAMES[i % SURNAMES.len()];
        let name = format!("{surname}{}{}", GIVEN[(i / 12) % GIVEN.len()], i);
        // distinct (birth date, sequence) per index keeps ID numbers unique
        let birth = base + Duration::days((i % 1460) as i64);
        let id = id_number("442000", birth, (i / 1460) as u32 * 2 + 1);
        let class = classes[i % classes.len().max(1)].to_string();
        students.push(vec![name.clone(), id.clone(), class]);
        let (gname, rel) = if i % 2 == 0 {
            (format!("{surname}妈妈{i}"), "母亲")
        } else {
            (format!("{surname}爸爸{i}"), "父亲")
        };
        guardians.push(vec![
            id,
            name,
            gname,
            rel.to_string(),
            (first_phone + i as u64).to_string(),
        ]);
    }
    (students, guardians)
}

/// The roster as a students-and-guardians workbook in the import template's layout.
pub fn roster_xlsx(
    students: Vec<Vec<String>>,
    guardians: Vec<Vec<String>>,
) -> Result<Vec<u8>, TabularError> {
    let head = |cols: &[(&str, bool)]| cols.iter().map(|c| c.0.to_string()).collect::<Vec<_>>();
    tabular::xlsx(
        &[
            SheetOut {
                name: STUDENT_SHEET.into(),
                headers: head(&student_cols::ALL),
                rows: students,
                widths: Vec::new(),
                kinds: Vec::new(),
            },
            SheetOut {
                name: GUARDIAN_SHEET.into(),
                headers: head(&guardian_cols::ALL),
                rows: guardians,
                widths: Vec::new(),
                kinds: Vec::new(),
            },
        ],
        &[],
    )
}

/// The demo school's people, written once (skipped when the school already has students):
/// staff in departments, the demo homeroom teacher (18800000006) leading 三年级2班, a few
/// children per class with one guardian each, and the demo parent (18800000009) as the
/// mother of two of them. Goes through the same write path as the forms and the import.
pub async fn seed_demo(
    pool: &sqlx::PgPool,
    keys: &crate::keys::Keys,
    tenant: &crate::tenancy::model::TenantContext,
    created_by: i64,
    today: NaiveDate,
) -> Result<(), crate::error::ApiError> {
    use super::model::{GuardianFields, StaffFields, StudentFields};
    use super::{repo, service};
    use crate::error::ApiError;
    use crate::tenancy::context::TenantTx;

    let mut tx = TenantTx::begin(pool, tenant).await?;
    let existing: i64 = sqlx::query_scalar("select count(*) from students")
        .fetch_one(tx.conn())
        .await?;
    if existing > 0 {
        return Ok(());
    }
    let bad =
        |e: Vec<super::model::FieldError>| ApiError::internal(format!("demo data invalid: {e:?}"));

    let staff_rows = [
        (
            "T001",
            "演示班主任",
            1986,
            "18800000006",
            "语文教研组、三年级组",
            "班主任、语文教学",
        ),
        (
            "T002",
            "演示任课教师",
            1990,
            "18800000007",
            "数学教研组",
            "数学教学、校内托管",
        ),
        (
            "T003",
            "何美玲",
            1982,
            "19900100003",
            "英语教研组",
            "英语教学",
        ),
        (
            "T004",
            "梁志强",
            1979,
            "19900100004",
            "体育组",
            "体育教学、篮球社团",
        ),
        ("T005", "吴晓燕", 1993, "19900100005", "艺术组", "美术教学"),
    ];
    let mut staff = Vec::new();
    for (i, (no, name, year, phone, depts, duties)) in staff_rows.iter().enumerate() {
        let birth = NaiveDate::from_ymd_opt(*year, 3, 10 + i as u32).unwrap_or_default();
        let f = StaffFields {
            staff_no: (*no).into(),
            name: (*name).into(),
            id_number: id_number("442000", birth, 201 + i as u32 * 2),
            phone: (*phone).into(),
            qualification_no: format!("2010442000{:04}", i + 1),
            education: "本科".into(),
            title: "一级教师".into(),
            employed_since: (year + 23).to_string(),
            duties: (*duties).into(),
            monthly_salary: "6800.00".into(),
            departments: (*depts).into(),
            resume: String::new(),
        };
        staff.push(f.check(today).map_err(bad)?);
    }
    let (staff_ids, _) = service::write_staff(&mut tx, keys, &staff).await?;

    let classes: Vec<(i64, String)> =
        sqlx::query_as("select id, name from classes where status = 'active' order by code")
            .fetch_all(tx.conn())
            .await?;
    let names: Vec<&str> = classes.iter().map(|c| c.1.as_str()).collect();
    let (srows, grows) = roster(names.len() * 4, &names, 19900200000);
    let mut students = Vec::new();
    for r in &srows {
        let f = StudentFields {
            name: r[0].clone(),
            id_number: r[1].clone(),
            class: r[2].clone(),
        };
        students.push(f.check(today).map_err(bad)?);
    }
    let class_of = |n: &str| {
        classes
            .iter()
            .find(|c| c.1 == n)
            .map(|c| c.0)
            .unwrap_or_default()
    };
    let refs: Vec<(&super::model::StudentInput, i64)> =
        students.iter().map(|s| (s, class_of(&s.class))).collect();
    let (student_ids, _) = service::write_students(&mut tx, keys, &refs).await?;

    let mut guardians = Vec::new();
    for r in &grows {
        let f = GuardianFields {
            student_id_number: r[0].clone(),
            student_name: r[1].clone(),
            name: r[2].clone(),
            relation: r[3].clone(),
            phone: r[4].clone(),
        };
        guardians.push(f.check(today).map_err(bad)?);
    }
    // The demo parent is the mother of the first two children of 三年级2班.
    let target = classes.iter().position(|c| c.1 == "三年级2班").unwrap_or(0);
    let mut links: Vec<(i64, &super::model::GuardianInput)> = Vec::new();
    let mut demo_parent = Vec::new();
    for (i, g) in guardians.iter().enumerate() {
        if i % names.len() == target && demo_parent.len() < 2 {
            let mut d = g.clone();
            d.name = "演示家长".into();
            d.phone = crate::pii::Phone::parse("18800000009").map_err(ApiError::internal)?;
            d.relation = super::model::Relation::Mother;
            demo_parent.push((student_ids[i], d));
        } else {
            links.push((student_ids[i], g));
        }
    }
    links.extend(demo_parent.iter().map(|(id, g)| (*id, g)));
    service::write_guardians(&mut tx, keys, created_by, &links).await?;

    if let (Some(class), Some(teacher)) = (classes.get(target), staff_ids.first()) {
        repo::set_homeroom(tx.conn(), class.0, *teacher).await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pii::IdNumber;

    #[test]
    fn generated_id_numbers_pass_the_checksum_and_are_unique() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let (s, _) = roster(3000, &["一年级1班"], 19900000000);
        let mut seen = std::collections::HashSet::new();
        for r in &s {
            IdNumber::parse(&r[1], today).unwrap();
            assert!(seen.insert(r[1].clone()));
        }
    }
}
