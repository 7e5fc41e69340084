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

/// Common surnames of Guangdong families.
const SURNAMES: [&str; 24] = [
    "陈", "李", "黄", "张", "梁", "林", "何", "吴", "郑", "刘", "冯", "杨", "罗", "谢", "周", "麦",
    "邓", "叶", "苏", "卢", "蔡", "曾", "潘", "钟",
];
/// Two characters of a boy's and of a girl's given name; the lists share no character, so
/// a name says which list it came from.
const BOY_FIRST: [&str; 12] = [
    "子", "浩", "宇", "俊", "嘉", "明", "博", "志", "梓", "睿", "家", "天",
];
const BOY_SECOND: [&str; 12] = [
    "轩", "然", "航", "熙", "豪", "杰", "文", "远", "铭", "泽", "乐", "佑",
];
const GIRL_FIRST: [&str; 12] = [
    "欣", "诗", "雨", "思", "可", "雅", "紫", "晓", "佳", "梦", "语", "芷",
];
const GIRL_SECOND: [&str; 12] = [
    "怡", "琪", "桐", "彤", "馨", "涵", "萱", "妍", "慧", "瑶", "晴", "悦",
];
/// Given names of the generated parents (two characters, no surname).
const FATHERS: [&str; 8] = [
    "建华", "志强", "国伟", "永辉", "文斌", "振东", "海涛", "伟明",
];
const MOTHERS: [&str; 8] = [
    "秀英", "丽娟", "美玲", "晓燕", "惠珍", "淑仪", "嘉欣", "玉梅",
];

/// The grade (1 = 一年级 … 9 = 九年级/初三) a clerk's class name starts with; 3 when the
/// name does not say (an alias such as 向日葵班).
fn grade_of(class: &str) -> u32 {
    const GRADES: [(&str, u32); 12] = [
        ("一年级", 1),
        ("二年级", 2),
        ("三年级", 3),
        ("四年级", 4),
        ("五年级", 5),
        ("六年级", 6),
        ("七年级", 7),
        ("八年级", 8),
        ("九年级", 9),
        ("初一", 7),
        ("初二", 8),
        ("初三", 9),
    ];
    GRADES
        .iter()
        .find(|(g, _)| class.starts_with(g))
        .map_or(3, |(_, n)| *n)
}

/// The first birthday of a child in grade `g` in the autumn-2026 term: children start
/// grade 1 in the September after they turn six, so grade `g` was born between
/// 1 September of (2020 - g) and 31 August of (2021 - g).
fn grade_born_from(g: u32) -> NaiveDate {
    let year = 2020 - i32::try_from(g).unwrap_or(3);
    NaiveDate::from_ymd_opt(year, 9, 1).unwrap_or_default()
}

/// Whether child `i` is a girl: spread evenly but not in step with the class a child is
/// put in (the classes go round in turn).
fn is_girl(i: usize) -> bool {
    (i.wrapping_mul(2_654_435_761) >> 7) & 1 == 1
}

/// A child's name: a surname and a two-character given name for the child's sex; the
/// first 3,456 children all get different names.
fn child_name(i: usize, girl: bool) -> String {
    let (first, second) = if girl {
        (&GIRL_FIRST, &GIRL_SECOND)
    } else {
        (&BOY_FIRST, &BOY_SECOND)
    };
    let surname = SURNAMES[i % SURNAMES.len()];
    let a = first[(i / SURNAMES.len()) % first.len()];
    let b = second[(i / (SURNAMES.len() * first.len())) % second.len()];
    format!("{surname}{a}{b}")
}

/// `n` students spread over `classes` (names as clerks write them), each with one guardian
/// (alternately mother and father). Rows in template column order. Names are real-looking
/// and digit-free; each ID number's birth date fits the grade of the child's class in the
/// autumn-2026 term, its sequence digit's parity says the child's sex (GB 11643: odd for a
/// boy, even for a girl) and its check character is valid.
pub fn roster(
    n: usize,
    classes: &[&str],
    first_phone: u64,
) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let mut students = Vec::with_capacity(n);
    let mut guardians = Vec::with_capacity(n);
    for i in 0..n {
        let girl = is_girl(i);
        let name = child_name(i, girl);
        let class = classes[i % classes.len().max(1)].to_string();
        // Distinct (birth date, sequence) per index keeps ID numbers unique: 365 days of
        // the grade's year, then the next pair of sequence numbers.
        let birth = grade_born_from(grade_of(&class)) + Duration::days((i % 365) as i64);
        let pair = u32::try_from(i / 365).unwrap_or(0) % 500;
        let id = id_number("442000", birth, pair * 2 + u32::from(!girl));
        students.push(vec![name.clone(), id.clone(), class]);
        let surname = SURNAMES[i % SURNAMES.len()];
        let (gname, rel) = if i % 2 == 0 {
            // The mother keeps her own surname.
            let own = SURNAMES[(i + 7) % SURNAMES.len()];
            (format!("{own}{}", MOTHERS[(i / 2) % MOTHERS.len()]), "母亲")
        } else {
            (
                format!("{surname}{}", FATHERS[(i / 2) % FATHERS.len()]),
                "父亲",
            )
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
) -> Result<(), super::error::PeopleError> {
    use super::error::PeopleError;
    use super::model::{GuardianFields, StaffFields, StudentFields};
    use super::{repo, service};
    use crate::kernel::tx::TenantTx;

    let mut tx = TenantTx::begin(pool, tenant).await?;
    if repo::student_count(tx.conn()).await? > 0 {
        return Ok(());
    }
    let bad = |e: Vec<super::model::FieldError>| PeopleError::DemoDataInvalid(format!("{e:?}"));

    // (staff no., name, woman, birth year, phone, departments, duties): the demo homeroom
    // and subject teachers sign in with 18800000006 and …07.
    let staff_rows = [
        (
            "T001",
            "陈慧敏",
            true,
            1986,
            "18800000006",
            "语文教研组、三年级组",
            "班主任、语文教学",
        ),
        (
            "T002",
            "林建华",
            false,
            1990,
            "18800000007",
            "数学教研组",
            "数学教学、校内托管",
        ),
        (
            "T003",
            "何美玲",
            true,
            1982,
            "19900100003",
            "英语教研组",
            "英语教学",
        ),
        (
            "T004",
            "梁志强",
            false,
            1979,
            "19900100004",
            "体育组",
            "体育教学、篮球社团",
        ),
        (
            "T005",
            "吴晓燕",
            true,
            1993,
            "19900100005",
            "艺术组",
            "美术教学",
        ),
    ];
    let mut staff = Vec::new();
    for (i, (no, name, woman, year, phone, depts, duties)) in staff_rows.iter().enumerate() {
        let birth = NaiveDate::from_ymd_opt(*year, 3, 10 + i as u32).unwrap_or_default();
        // GB 11643: the sequence number is even for a woman, odd for a man.
        let seq = 200 + i as u32 * 2 + u32::from(!*woman);
        let f = StaffFields {
            staff_no: (*no).into(),
            name: (*name).into(),
            id_number: id_number("442000", birth, seq),
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

    let classes = repo::active_class_names(tx.conn()).await?;
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
            d.phone = crate::pii::Phone::parse("18800000009")
                .map_err(|e| PeopleError::DemoDataInvalid(e.to_string()))?;
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
    fn issue13_generated_children_have_real_names_ages_fitting_their_grade_and_sexes_from_the_id() {
        let term_starts = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        let classes = ["一年级1班", "三年级2班", "六年级1班", "向日葵班"];
        let (s, g) = roster(400, &classes, 19900000000);
        let mut names = std::collections::HashSet::new();
        let mut girls = 0;
        for (r, gr) in s.iter().zip(&g) {
            for n in [&r[0], &gr[2]] {
                assert!(!n.chars().any(|c| c.is_ascii_digit()), "{n}");
                assert!((2..=4).contains(&n.chars().count()), "{n}");
            }
            assert!(names.insert(r[0].clone()), "{} twice", r[0]);
            let id = IdNumber::parse(&r[1], term_starts).unwrap();
            // Age on 31 August 2026 is six for grade 1, and one more for each grade up.
            let grade = grade_of(&r[2]) as i32;
            let birth = NaiveDate::parse_from_str(&r[1][6..14], "%Y%m%d").unwrap();
            let cutoff = NaiveDate::from_ymd_opt(2026, 8, 31).unwrap();
            assert_eq!(
                cutoff.years_since(birth),
                Some(5 + grade as u32),
                "{} {}",
                r[1],
                r[2]
            );
            let girl = GIRL_FIRST.iter().any(|c| r[0].contains(c));
            assert_eq!(
                id.sex() == crate::pii::Sex::Female,
                girl,
                "{} {}",
                r[0],
                r[1]
            );
            let seventeenth = r[1].as_bytes()[16] - b'0';
            assert_eq!(seventeenth.is_multiple_of(2), girl, "{}", r[1]);
            girls += usize::from(girl);
        }
        assert!((120..=280).contains(&girls), "{girls} girls of 400");
    }

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
