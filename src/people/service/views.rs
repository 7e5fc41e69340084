//! The masked lists and views of staff and students: the school's lists (a homeroom
//! teacher's limited to their classes by the row scope), one record, a parent's own
//! children, and the departments.
//!
//! Must never put a clear ID number or phone into a view: rows carry only masked values.

use chrono::{Datelike, NaiveDate};

use super::scope::{scope, Scope};
use crate::auth::model::AuthContext;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::people::error::PeopleError;
use crate::people::model::*;
use crate::people::repo::{self, StudentFilter};

fn teaching_years(since: Option<i16>, today: NaiveDate) -> Option<i32> {
    since.map(|y| (today.year() - i32::from(y)).max(0))
}

pub fn staff_view(r: repo::StaffRow, today: NaiveDate) -> StaffView {
    StaffView {
        id: r.id,
        staff_no: r.staff_no,
        name: r.name,
        id_number_masked: r.id_number_masked,
        age: age(r.birth_date, today),
        sex: sex_label(&r.sex).into(),
        teaching_years: teaching_years(r.employed_since, today),
        qualification_no: r.qualification_no,
        education: r.education,
        title: r.title,
        phone_masked: r.phone_masked,
        resume: r.resume,
        employed_since: r.employed_since,
        duties: r.duties,
        monthly_salary: r.monthly_salary.map(|d| format!("{d:.2}")),
        departments: r.departments,
        homeroom_of: r.homeroom_of,
        status: r.status.as_str().into(),
    }
}

pub fn student_view(r: repo::StudentRow, today: NaiveDate) -> StudentView {
    StudentView {
        id: r.id,
        name: r.name,
        id_number_masked: r.id_number_masked,
        age: age(r.birth_date, today),
        sex: sex_label(&r.sex).into(),
        class_id: r.class_id,
        class_name: r.class_name,
        class_alias: r.class_alias,
        status: r.status,
        guardians: r
            .guardians
            .0
            .into_iter()
            .map(|g| {
                let relation = Relation::from_db(&g.relation);
                GuardianView {
                    id: g.id,
                    name: g.name,
                    relation,
                    relation_label: relation.label().into(),
                    phone_masked: g.phone_masked,
                }
            })
            .collect(),
    }
}

pub struct StudentQuery {
    pub class_id: Option<i64>,
    pub status: Option<String>,
    pub q: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

pub async fn list_students(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    query: &StudentQuery,
) -> Result<StudentPage, PeopleError> {
    let scope = scope(st, auth, tx).await?;
    let ids = match &scope {
        Scope::All => None,
        Scope::Classes(ids) => Some(ids.as_slice()),
    };
    let rows = repo::students(
        tx.conn(),
        &StudentFilter {
            scope: ids,
            class_id: query.class_id,
            status: query.status.as_deref(),
            q: query.q.as_deref(),
            limit: query.limit.clamp(1, 500),
            offset: query.offset.max(0),
            ..Default::default()
        },
    )
    .await?;
    let total = rows.first().map(|r| r.total).unwrap_or(0);
    let today = st.clock.today();
    Ok(StudentPage {
        total,
        items: rows.into_iter().map(|r| student_view(r, today)).collect(),
    })
}

/// A parent's own children in this school: only after the parent has agreed to the
/// current personal-data rules (a child's data is not processed for them before).
pub async fn my_children(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
) -> Result<Vec<StudentView>, PeopleError> {
    tx.leave_role().await?;
    let consented =
        repo::has_consent(tx.conn(), auth.account_id, &st.security.terms_version).await?;
    let hash = repo::account_phone_hash(tx.conn(), auth.account_id).await?;
    tx.enter_role().await?;
    if !consented {
        return Err(PeopleError::ConsentRequired {
            terms_version: st.security.terms_version.clone(),
        });
    }
    let Some(hash) = hash else {
        return Ok(Vec::new());
    };
    let rows = repo::students(
        tx.conn(),
        &StudentFilter {
            status: Some(StudentStatus::Active.as_str()),
            guardian_phone_hash: Some(&hash),
            limit: 50,
            ..Default::default()
        },
    )
    .await?;
    let today = st.clock.today();
    Ok(rows.into_iter().map(|r| student_view(r, today)).collect())
}

pub async fn student_by_id(
    st: &Ctx,
    tx: &mut TenantTx,
    id: i64,
) -> Result<StudentView, PeopleError> {
    // Reads the one row through the list query, so the view is built in one place.
    let rows = repo::students(
        tx.conn(),
        &StudentFilter {
            id: Some(id),
            limit: 1,
            ..Default::default()
        },
    )
    .await?;
    rows.into_iter()
        .find(|r| r.id == id)
        .map(|r| student_view(r, st.clock.today()))
        .ok_or(PeopleError::StudentNotFound(id))
}

/// The school's staff, optionally of one department, optionally matching a name or staff
/// number (`q`, blank for none).
pub async fn list_staff(
    st: &Ctx,
    tx: &mut TenantTx,
    department_id: Option<i64>,
    q: Option<&str>,
) -> Result<Vec<StaffView>, PeopleError> {
    let today = st.clock.today();
    let q = q.filter(|s| !s.trim().is_empty());
    Ok(repo::staff(tx.conn(), department_id, q)
        .await?
        .into_iter()
        .map(|r| staff_view(r, today))
        .collect())
}

/// One staff member, if the record exists.
pub async fn find_staff(
    st: &Ctx,
    tx: &mut TenantTx,
    id: i64,
) -> Result<Option<StaffView>, PeopleError> {
    Ok(repo::staff_one(tx.conn(), id)
        .await?
        .map(|r| staff_view(r, st.clock.today())))
}
