//! What the city supervision push needs of staff (F3) and students (F4), personal fields
//! decrypted: only the outbox handlers of courses and enrollment call this, and what they
//! build leaves the tenant only through the push (sealed in the outbox, SM4 on the wire,
//! audited on delivery).

use chrono::{Datelike, NaiveDate};

use super::{decrypt, id_column, STAFF_PHONE};
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::people::error::PeopleError;
use crate::people::model::Person;
use crate::people::repo;

/// F3's fields of one staff member.
#[derive(Clone)]
pub struct TeacherFacts {
    pub id: i64,
    pub staff_no: String,
    pub name: String,
    pub id_number: String,
    pub age: i32,
    /// 教龄: years since `employed_since`.
    pub teaching_years: Option<i32>,
    pub qualification_no: Option<String>,
    pub education: Option<String>,
    pub title: Option<String>,
    pub phone: String,
    pub resume: Option<String>,
    pub employed_since: Option<i16>,
    pub duties: Option<String>,
    pub monthly_salary: Option<String>,
}

/// F4's fields of one student.
#[derive(Clone)]
pub struct StudentFacts {
    pub id: i64,
    pub name: String,
    pub id_number: String,
    pub age: i32,
    /// 男 | 女
    pub sex: &'static str,
    /// 学校班级: the grade and class names.
    pub class_name: String,
}

fn age_on(birth: NaiveDate, today: NaiveDate) -> i32 {
    let mut age = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age.max(0)
}

pub async fn teacher_facts(
    st: &Ctx,
    tx: &mut TenantTx,
    ids: &[i64],
) -> Result<Vec<TeacherFacts>, PeopleError> {
    let today = st.clock.today();
    let rows = repo::staff_facts(tx.conn(), ids).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(TeacherFacts {
            id: r.id,
            id_number: decrypt(st, tx, id_column(Person::Staff), &r.id_number_enc)?,
            phone: decrypt(st, tx, STAFF_PHONE, &r.phone_enc)?,
            age: age_on(r.birth_date, today),
            teaching_years: r
                .employed_since
                .map(|y| (today.year() - i32::from(y)).max(0)),
            staff_no: r.staff_no,
            name: r.name,
            qualification_no: r.qualification_no,
            education: r.education,
            title: r.title,
            resume: r.resume,
            employed_since: r.employed_since,
            duties: r.duties,
            monthly_salary: r.monthly_salary.map(|m| m.round_dp(2).to_string()),
        });
    }
    Ok(out)
}

pub async fn student_facts(
    st: &Ctx,
    tx: &mut TenantTx,
    ids: &[i64],
) -> Result<Vec<StudentFacts>, PeopleError> {
    let today = st.clock.today();
    let rows = repo::student_facts(tx.conn(), ids).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(StudentFacts {
            id: r.id,
            id_number: decrypt(st, tx, id_column(Person::Student), &r.id_number_enc)?,
            age: age_on(r.birth_date, today),
            sex: if r.sex == "F" { "女" } else { "男" },
            class_name: if r.class_name.starts_with(&r.grade_name) {
                r.class_name.clone()
            } else {
                format!("{}{}", r.grade_name, r.class_name)
            },
            name: r.name,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages_turn_on_the_birthday() {
        let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(super::age_on(d(2015, 12, 7), d(2026, 12, 6)), 10);
        assert_eq!(super::age_on(d(2015, 12, 7), d(2026, 12, 7)), 11);
    }
}
