//! Rules of a school's people: who may see whom (row scope), the one write path for staff,
//! students and guardians shared by the forms and the bulk import, the audited reads of
//! clear personal data, and homeroom/role assignment of staff.
//!
//! Must never return a clear ID number or phone except through [`reveal_staff`] /
//! [`reveal_student`], which audit every read.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use serde_json::json;

use super::model::*;
use super::repo::{self, GuardianBatch, StaffBatch, StudentBatch, StudentFilter};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::{AuthContext, Domain, Role};
use crate::auth::roles;
use crate::error::{ApiError, ErrorKind};
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::keys::Keys;
use crate::pii::{IdNumber, Phone};

/// Blind-index domains. Phones share the accounts' domain so that a staff member or a
/// guardian is matched to their platform account by equal hashes.
pub const PHONE_DOMAIN: &str = "phone";
pub const ID_DOMAIN: &str = "id_number";

/// Ciphertexts are bound to the tenant and the column: a blob copied to another school's
/// table, or from a phone column to an ID column, does not decrypt.
fn aad(tx: &TenantTx, column: &str) -> Vec<u8> {
    format!("{}/{column}", tx.tenant().schema).into_bytes()
}

pub fn not_found(what: &str, id: i64) -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        "NOT_FOUND",
        format!("找不到该{what}"),
        json!({ "id": id }),
    )
}

pub fn invalid(errors: Vec<FieldError>) -> ApiError {
    let first = errors
        .first()
        .map(|e| e.reason.clone())
        .unwrap_or_else(|| "输入有误".into());
    ApiError::new(
        ErrorKind::Unprocessable,
        "INVALID_FIELDS",
        first,
        json!({ "fields": errors }),
    )
}

fn conflict(code: &str, message: impl Into<String>, details: serde_json::Value) -> ApiError {
    ApiError::new(ErrorKind::Conflict, code, message, details)
}

// ---- the write path ---------------------------------------------------------------------

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub inserted: u32,
    pub updated: u32,
}

impl Written {
    fn count(rows: &[(i64, bool)]) -> Written {
        let inserted = rows.iter().filter(|r| r.1).count() as u32;
        Written {
            inserted,
            updated: rows.len() as u32 - inserted,
        }
    }
}

/// Inserts or updates staff (matched by ID number) and replaces their departments (created
/// by name when new). Callers have checked that no staff number belongs to someone else.
pub async fn write_staff(
    tx: &mut TenantTx,
    keys: &Keys,
    rows: &[StaffInput],
) -> Result<(Vec<i64>, Written), ApiError> {
    let id_aad = aad(tx, "staff.id_number");
    let ph_aad = aad(tx, "staff.phone");
    let mut b = StaffBatch::default();
    for r in rows {
        b.staff_no.push(r.staff_no.clone());
        b.name.push(r.name.clone());
        b.id_enc
            .push(keys.pii.encrypt_str(r.id_number.as_str(), &id_aad));
        b.id_hash
            .push(keys.pii.blind_index(ID_DOMAIN, r.id_number.as_str()));
        b.id_masked.push(r.id_number.masked());
        b.birth.push(r.id_number.birth_date());
        b.sex.push(sex_code(r.id_number.sex()).into());
        b.qualification_no.push(r.qualification_no.clone());
        b.education.push(r.education.clone());
        b.title.push(r.title.clone());
        b.phone_enc
            .push(keys.pii.encrypt_str(r.phone.as_str(), &ph_aad));
        b.phone_hash
            .push(keys.pii.blind_index(PHONE_DOMAIN, r.phone.as_str()));
        b.phone_masked.push(r.phone.masked());
        b.resume.push(r.resume.clone());
        b.employed_since.push(r.employed_since);
        b.duties.push(r.duties.clone());
        b.salary.push(r.monthly_salary);
    }
    let out = repo::upsert_staff(tx.conn(), &b).await?;
    let ids: Vec<i64> = out.iter().map(|r| r.0).collect();
    let mut names: Vec<String> = rows.iter().flat_map(|r| r.departments.clone()).collect();
    names.sort();
    names.dedup();
    let dept: HashMap<String, i64> = repo::ensure_departments(tx.conn(), &names)
        .await?
        .into_iter()
        .collect();
    let pairs: Vec<(i64, i64)> = rows
        .iter()
        .zip(&ids)
        .flat_map(|(r, id)| {
            r.departments
                .iter()
                .filter_map(|d| dept.get(d).map(|d| (*id, *d)))
                .collect::<Vec<_>>()
        })
        .collect();
    repo::set_memberships(tx.conn(), &ids, &pairs).await?;
    Ok((ids, Written::count(&out)))
}

/// Staff numbers in `rows` that already belong to another person (by ID number):
/// (index in rows, staff number).
pub async fn staff_no_conflicts(
    tx: &mut TenantTx,
    keys: &Keys,
    rows: &[(usize, &StaffInput)],
) -> Result<Vec<(usize, String)>, ApiError> {
    let existing: HashMap<String, Vec<u8>> =
        repo::staff_keys(tx.conn()).await?.into_iter().collect();
    Ok(rows
        .iter()
        .filter_map(|(i, r)| {
            let h = keys.pii.blind_index(ID_DOMAIN, r.id_number.as_str());
            match existing.get(&r.staff_no) {
                Some(owner) if *owner != h => Some((*i, r.staff_no.clone())),
                _ => None,
            }
        })
        .collect())
}

/// Resolves how clerks name classes (system name, alias or code) to active class ids.
pub struct ClassIndex(HashMap<String, i64>);

impl ClassIndex {
    pub async fn load(tx: &mut TenantTx) -> Result<ClassIndex, ApiError> {
        let mut m = HashMap::new();
        for (id, code, name, alias) in repo::active_classes(tx.conn()).await? {
            m.insert(norm(&code), id);
            if let Some(a) = alias {
                m.insert(norm(&a), id);
            }
            m.insert(norm(&name), id);
        }
        Ok(ClassIndex(m))
    }

    pub fn get(&self, text: &str) -> Option<i64> {
        self.0.get(&norm(text)).copied()
    }
}

/// Full-width digits and spaces are what Excel users in China often type.
fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            _ => c,
        })
        .collect::<String>()
        .to_lowercase()
}

pub async fn write_students(
    tx: &mut TenantTx,
    keys: &Keys,
    rows: &[(&StudentInput, i64)],
) -> Result<(Vec<i64>, Written), ApiError> {
    let id_aad = aad(tx, "students.id_number");
    let mut b = StudentBatch::default();
    for (r, class_id) in rows {
        b.name.push(r.name.clone());
        b.id_enc
            .push(keys.pii.encrypt_str(r.id_number.as_str(), &id_aad));
        b.id_hash
            .push(keys.pii.blind_index(ID_DOMAIN, r.id_number.as_str()));
        b.id_masked.push(r.id_number.masked());
        b.birth.push(r.id_number.birth_date());
        b.sex.push(sex_code(r.id_number.sex()).into());
        b.class_id.push(*class_id);
    }
    let out = repo::upsert_students(tx.conn(), &b).await?;
    Ok((out.iter().map(|r| r.0).collect(), Written::count(&out)))
}

/// The students of these ID numbers: hash → (id, name).
pub async fn students_by_id_number(
    tx: &mut TenantTx,
    keys: &Keys,
    ids: &[&IdNumber],
) -> Result<HashMap<Vec<u8>, (i64, String)>, ApiError> {
    let hashes: Vec<Vec<u8>> = ids
        .iter()
        .map(|i| keys.pii.blind_index(ID_DOMAIN, i.as_str()))
        .collect();
    Ok(repo::students_by_hash(tx.conn(), &hashes)
        .await?
        .into_iter()
        .map(|(h, id, name)| (h, (id, name)))
        .collect())
}

/// Upserts guardians (by phone), links them to their students, and finds or creates each
/// guardian's platform account with the parent role in this school — all in the caller's
/// transaction. Returns the number of (student, guardian) links written.
pub async fn write_guardians(
    tx: &mut TenantTx,
    keys: &Keys,
    created_by: i64,
    rows: &[(i64, &GuardianInput)],
) -> Result<(u64, Written), ApiError> {
    let ph_aad = aad(tx, "guardians.phone");
    // One guardian per phone even when a file lists them once per child: the last name
    // written for a phone wins, as a clerk correcting a name would expect.
    let mut order: Vec<Vec<u8>> = Vec::new();
    let mut by_hash: HashMap<Vec<u8>, &GuardianInput> = HashMap::new();
    for (_, g) in rows {
        let h = keys.pii.blind_index(PHONE_DOMAIN, g.phone.as_str());
        if by_hash.insert(h.clone(), g).is_none() {
            order.push(h);
        }
    }
    let mut b = GuardianBatch::default();
    for h in &order {
        let g = by_hash[h];
        b.name.push(g.name.clone());
        b.phone_enc
            .push(keys.pii.encrypt_str(g.phone.as_str(), &ph_aad));
        b.phone_hash.push(h.clone());
        b.phone_masked.push(g.phone.masked());
    }
    let out = repo::upsert_guardians(tx.conn(), &b).await?;
    let inserted = out.iter().filter(|r| r.2).count() as u32;
    let written = Written {
        inserted,
        updated: out.len() as u32 - inserted,
    };
    let gid: HashMap<Vec<u8>, i64> = out.into_iter().map(|(h, id, _)| (h, id)).collect();

    let mut s_ids = Vec::with_capacity(rows.len());
    let mut g_ids = Vec::with_capacity(rows.len());
    let mut rel = Vec::with_capacity(rows.len());
    for (sid, g) in rows {
        let h = keys.pii.blind_index(PHONE_DOMAIN, g.phone.as_str());
        if let Some(id) = gid.get(&h) {
            s_ids.push(*sid);
            g_ids.push(*id);
            rel.push(g.relation.as_str());
        }
    }
    let links = repo::link_guardians(tx.conn(), &s_ids, &g_ids, &rel).await?;

    // Accounts hold the phone under the platform's own AAD, not the tenant's.
    let mut acct = GuardianBatch::default();
    for h in &order {
        let g = by_hash[h];
        acct.name.push(g.name.clone());
        acct.phone_enc.push(
            keys.pii
                .encrypt(g.phone.as_str().as_bytes(), crate::auth::service::PHONE_AAD),
        );
        acct.phone_hash.push(h.clone());
        acct.phone_masked.push(String::new());
    }
    let tenant_id = tx.tenant().id;
    tx.leave_role().await?;
    let accounts = repo::ensure_parent_accounts(tx.conn(), &acct, tenant_id, created_by).await?;
    tx.enter_role().await?;
    let (gs, accs): (Vec<i64>, Vec<i64>) = accounts
        .into_iter()
        .filter_map(|(h, a)| gid.get(&h).map(|g| (*g, a)))
        .unzip();
    repo::set_guardian_accounts(tx.conn(), &gs, &accs).await?;
    Ok((links, written))
}

// ---- row scope ---------------------------------------------------------------------------

/// Which students the caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// School admins and inspectors with the write permission: the whole school.
    All,
    /// A homeroom teacher: the active classes they lead.
    Classes(Vec<i64>),
}

pub async fn scope(st: &Ctx, auth: &AuthContext, tx: &mut TenantTx) -> Result<Scope, ApiError> {
    let roles = auth.roles_in_tenant(tx.tenant().id);
    if st
        .authz
        .any_allows(&roles, Domain::School, "school.people", "write")
    {
        return Ok(Scope::All);
    }
    let hash = caller_phone_hash(tx, auth.account_id).await?;
    Ok(Scope::Classes(
        repo::homeroom_classes(tx.conn(), &hash).await?,
    ))
}

/// The signed-in account's phone hash: staff and guardians are matched to accounts by
/// equal hashes, and the account row is platform data.
pub(crate) async fn caller_phone_hash(
    tx: &mut TenantTx,
    account_id: i64,
) -> Result<Vec<u8>, ApiError> {
    tx.leave_role().await?;
    let h = repo::account_phone_hash(tx.conn(), account_id).await?;
    tx.enter_role().await?;
    h.ok_or_else(|| ApiError::internal("signed-in account has no row"))
}

// ---- views -------------------------------------------------------------------------------

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
        status: r.status,
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
) -> Result<StudentPage, ApiError> {
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
) -> Result<Vec<StudentView>, ApiError> {
    tx.leave_role().await?;
    let consented: bool = sqlx::query_scalar(
        "select exists (select 1 from platform.consents where account_id = $1
                        and terms_version = $2 and withdrawn_at is null)",
    )
    .bind(auth.account_id)
    .bind(&st.security.terms_version)
    .fetch_one(tx.conn())
    .await?;
    let hash = repo::account_phone_hash(tx.conn(), auth.account_id).await?;
    tx.enter_role().await?;
    if !consented {
        return Err(ApiError::new(
            ErrorKind::Forbidden,
            "CONSENT_REQUIRED",
            "请先阅读并同意《个人信息处理规则》后再查看孩子信息",
            json!({ "terms_version": st.security.terms_version }),
        ));
    }
    let Some(hash) = hash else {
        return Ok(Vec::new());
    };
    let rows = repo::students(
        tx.conn(),
        &StudentFilter {
            status: Some("active"),
            guardian_phone_hash: Some(&hash),
            limit: 50,
            ..Default::default()
        },
    )
    .await?;
    let today = st.clock.today();
    Ok(rows.into_iter().map(|r| student_view(r, today)).collect())
}

/// The two kinds of people records keyed by an ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Person {
    Staff,
    Student,
}

impl Person {
    pub fn table(self) -> &'static str {
        match self {
            Person::Staff => "staff",
            Person::Student => "students",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Person::Staff => "教职工",
            Person::Student => "学生",
        }
    }
}

/// Makes `hash` the ID number of record `id` (`None`: a record about to be created).
/// Refuses an ID number that belongs to someone else; a corrected ID number is moved onto
/// the record first, so that the upsert by ID number that follows updates it.
async fn claim_id_number(
    tx: &mut TenantTx,
    who: Person,
    id: Option<i64>,
    hash: &[u8],
) -> Result<(), ApiError> {
    let owner = repo::owner_of_id_number(tx.conn(), who.table(), hash).await?;
    let code = match who {
        Person::Staff => "STAFF_EXISTS",
        Person::Student => "STUDENT_EXISTS",
    };
    match (id, owner) {
        (None, Some(_)) => Err(conflict(
            code,
            format!("该身份证号的{}已存在", who.label()),
            json!({ "field": staff_cols::ID_NUMBER }),
        )),
        (Some(id), Some(o)) if o != id => Err(conflict(
            code,
            format!(
                "该身份证号已属于另一{}",
                match who {
                    Person::Staff => "位教职工",
                    Person::Student => "名学生",
                }
            ),
            json!({ "field": staff_cols::ID_NUMBER }),
        )),
        (Some(id), None) => {
            if repo::set_id_number_hash(tx.conn(), who.table(), id, hash).await? == 0 {
                return Err(not_found(who.label(), id));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A staff member leaves or a student leaves the school: the record stays (history, money
/// owed), only its status changes.
pub async fn mark_left(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    who: Person,
    id: i64,
) -> Result<(), ApiError> {
    if repo::set_status(tx.conn(), who.table(), id, "left").await? == 0 {
        return Err(not_found(who.label(), id));
    }
    let (action, object) = match who {
        Person::Staff => ("people.staff.leave", format!("staff:{id}")),
        Person::Student => ("people.student.leave", format!("student:{id}")),
    };
    tx.audit(st, auth, AuditEvent::new(action, object, Outcome::Success))
        .await
}

// ---- single-record forms -----------------------------------------------------------------

pub async fn create_or_update_staff(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    id: Option<i64>,
    fields: &StaffFields,
) -> Result<StaffView, ApiError> {
    let today = st.clock.today();
    let input = fields.check(today).map_err(invalid)?;
    let hash = st.keys.pii.blind_index(ID_DOMAIN, input.id_number.as_str());
    claim_id_number(tx, Person::Staff, id, &hash).await?;
    if !staff_no_conflicts(tx, &st.keys, &[(0, &input)])
        .await?
        .is_empty()
    {
        return Err(conflict(
            "STAFF_NO_TAKEN",
            format!("工号 {} 已被其他教职工使用", input.staff_no),
            json!({ "field": staff_cols::STAFF_NO }),
        ));
    }
    let (ids, _) = write_staff(tx, &st.keys, std::slice::from_ref(&input)).await?;
    let sid = ids.first().copied().unwrap_or_default();
    let row = repo::staff_one(tx.conn(), sid)
        .await?
        .ok_or_else(|| not_found("教职工", sid))?;
    tx.audit(
        st,
        auth,
        AuditEvent::new(
            if id.is_some() {
                "people.staff.update"
            } else {
                "people.staff.create"
            },
            format!("staff:{sid}"),
            Outcome::Success,
        )
        .details(json!({ "staff_no": input.staff_no, "id_number": input.id_number.masked() })),
    )
    .await?;
    Ok(staff_view(row, today))
}

pub async fn create_or_update_student(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    id: Option<i64>,
    name: &str,
    id_number: &str,
    class_id: i64,
) -> Result<StudentView, ApiError> {
    let today = st.clock.today();
    let fields = StudentFields {
        name: name.into(),
        id_number: id_number.into(),
        class: class_id.to_string(),
    };
    let input = fields.check(today).map_err(invalid)?;
    match repo::class(tx.conn(), class_id).await? {
        Some((_, _, status)) if status == "active" => {}
        _ => {
            return Err(invalid(vec![FieldError::new(
                student_cols::CLASS,
                "班级不存在或已毕业",
            )]))
        }
    }
    let hash = st.keys.pii.blind_index(ID_DOMAIN, input.id_number.as_str());
    claim_id_number(tx, Person::Student, id, &hash).await?;
    let (ids, _) = write_students(tx, &st.keys, &[(&input, class_id)]).await?;
    let sid = ids.first().copied().unwrap_or_default();
    tx.audit(
        st,
        auth,
        AuditEvent::new(
            if id.is_some() {
                "people.student.update"
            } else {
                "people.student.create"
            },
            format!("student:{sid}"),
            Outcome::Success,
        )
        .details(json!({ "class_id": class_id, "id_number": input.id_number.masked() })),
    )
    .await?;
    student_by_id(st, tx, sid).await
}

pub async fn student_by_id(st: &Ctx, tx: &mut TenantTx, id: i64) -> Result<StudentView, ApiError> {
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
        .ok_or_else(|| not_found("学生", id))
}

pub async fn add_guardian(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    student_id: i64,
    name: &str,
    relation: Relation,
    phone: &str,
) -> Result<StudentView, ApiError> {
    let Some((_, id_enc, _)) = repo::student_secret(tx.conn(), student_id).await? else {
        return Err(not_found("学生", student_id));
    };
    let mut errs = Vec::new();
    let phone = match Phone::parse(phone) {
        Ok(p) => Some(p),
        Err(e) => {
            errs.push(FieldError::new(guardian_cols::PHONE, e.to_string()));
            None
        }
    };
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        errs.push(FieldError::new(
            guardian_cols::NAME,
            "家长姓名不能为空且不超过 50 字",
        ));
    }
    let (Some(phone), true) = (phone, errs.is_empty()) else {
        return Err(invalid(errs));
    };
    // The guardian input carries the child's ID number for the import's cross-check; here
    // the child is known by id, so it is decrypted only to build the same input type.
    let clear = st
        .keys
        .pii
        .decrypt_str(&id_enc, &aad(tx, "students.id_number"))
        .map_err(ApiError::internal)?;
    let sid = IdNumber::parse(&clear, st.clock.today()).map_err(ApiError::internal)?;
    let g = GuardianInput {
        student_id_number: sid,
        student_name: String::new(),
        name: name.into(),
        relation,
        phone,
    };
    write_guardians(tx, &st.keys, auth.account_id, &[(student_id, &g)]).await?;
    tx.audit(
        st,
        auth,
        AuditEvent::new(
            "people.guardian.link",
            format!("student:{student_id}"),
            Outcome::Success,
        )
        .details(json!({ "relation": relation.as_str(), "phone": g.phone.masked() })),
    )
    .await?;
    student_by_id(st, tx, student_id).await
}

// ---- audited clear reads -----------------------------------------------------------------

pub async fn reveal_staff(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    id: i64,
) -> Result<RevealedPii, ApiError> {
    let (_, id_enc, ph_enc) = repo::staff_secret(tx.conn(), id)
        .await?
        .ok_or_else(|| not_found("教职工", id))?;
    let id_number = st
        .keys
        .pii
        .decrypt_str(&id_enc, &aad(tx, "staff.id_number"))
        .map_err(ApiError::internal)?;
    let phone = st
        .keys
        .pii
        .decrypt_str(&ph_enc, &aad(tx, "staff.phone"))
        .map_err(ApiError::internal)?;
    tx.audit(
        st,
        auth,
        AuditEvent::new("pii.reveal", format!("staff:{id}"), Outcome::Success)
            .details(json!({ "fields": ["id_number", "phone"] })),
    )
    .await?;
    Ok(RevealedPii {
        id_number,
        phone: Some(phone),
    })
}

pub async fn reveal_student(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    id: i64,
) -> Result<RevealedPii, ApiError> {
    let (_, id_enc, _) = repo::student_secret(tx.conn(), id)
        .await?
        .ok_or_else(|| not_found("学生", id))?;
    let id_number = st
        .keys
        .pii
        .decrypt_str(&id_enc, &aad(tx, "students.id_number"))
        .map_err(ApiError::internal)?;
    tx.audit(
        st,
        auth,
        AuditEvent::new("pii.reveal", format!("student:{id}"), Outcome::Success)
            .details(json!({ "fields": ["id_number"] })),
    )
    .await?;
    Ok(RevealedPii {
        id_number,
        phone: None,
    })
}

// ---- homeroom and roles --------------------------------------------------------------------

/// Clear phone and name of an active staff member, for granting them a role.
async fn staff_contact(st: &Ctx, tx: &mut TenantTx, id: i64) -> Result<(String, Phone), ApiError> {
    let (name, _, ph_enc) = repo::staff_secret(tx.conn(), id)
        .await?
        .ok_or_else(|| not_found("教职工", id))?;
    let clear = st
        .keys
        .pii
        .decrypt_str(&ph_enc, &aad(tx, "staff.phone"))
        .map_err(ApiError::internal)?;
    let phone = Phone::parse(&clear).map_err(ApiError::internal)?;
    Ok((name, phone))
}

/// Makes a staff member the homeroom teacher (班主任) of a class: the class row, and the
/// homeroom_teacher role on the staff member's account (found or created by phone), in one
/// transaction. The previous homeroom teacher loses the role when they lead no class.
pub async fn set_homeroom(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    class_id: i64,
    staff_id: i64,
) -> Result<(), ApiError> {
    match repo::class(tx.conn(), class_id).await? {
        Some((_, _, s)) if s == "active" => {}
        _ => return Err(not_found("班级", class_id)),
    }
    let (name, phone) = staff_contact(st, tx, staff_id).await?;
    let prev = repo::set_homeroom(tx.conn(), class_id, staff_id).await?;
    let tenant_id = tx.tenant().id;
    tx.leave_role().await?;
    let granted = roles::grant(
        tx.conn(),
        &st.keys,
        &phone,
        &name,
        None,
        Role::HomeroomTeacher,
        Some(tenant_id),
        Some(auth.account_id),
    )
    .await;
    let account = match granted {
        Ok((_, account, _)) => Some(account),
        Err(crate::auth::error::AuthError::AlreadyAssigned) => None,
        Err(e) => return Err(e.into()),
    };
    tx.enter_role().await?;
    if let Some(a) = account {
        repo::set_staff_account(tx.conn(), staff_id, a).await?;
    }
    if let Some(p) = prev.filter(|p| *p != staff_id) {
        release_homeroom_role(st, tx, p).await?;
    }
    tx.audit(
        st,
        auth,
        AuditEvent::new(
            "people.homeroom.set",
            format!("class:{class_id}"),
            Outcome::Success,
        )
        .details(json!({ "staff_id": staff_id, "previous": prev })),
    )
    .await
}

pub async fn clear_homeroom(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    class_id: i64,
) -> Result<(), ApiError> {
    let Some(prev) = repo::clear_homeroom(tx.conn(), class_id).await? else {
        return Err(not_found("班主任安排", class_id));
    };
    release_homeroom_role(st, tx, prev).await?;
    tx.audit(
        st,
        auth,
        AuditEvent::new(
            "people.homeroom.clear",
            format!("class:{class_id}"),
            Outcome::Success,
        )
        .details(json!({ "previous": prev })),
    )
    .await
}

/// Withdraws the homeroom_teacher role from a staff member who leads no class any more.
async fn release_homeroom_role(st: &Ctx, tx: &mut TenantTx, staff_id: i64) -> Result<(), ApiError> {
    if repo::homeroom_count(tx.conn(), staff_id).await? > 0 {
        return Ok(());
    }
    let (_, phone) = staff_contact(st, tx, staff_id).await?;
    let hash = st.keys.pii.blind_index(PHONE_DOMAIN, phone.as_str());
    let tenant_id = tx.tenant().id;
    tx.leave_role().await?;
    sqlx::query(
        "delete from platform.role_assignments r using platform.accounts a
         where r.account_id = a.id and a.phone_hash = $1 and r.role = 'homeroom_teacher'
           and r.tenant_id = $2",
    )
    .bind(&hash)
    .bind(tenant_id)
    .execute(tx.conn())
    .await?;
    tx.enter_role().await?;
    Ok(())
}

/// Grants a staff member a school role (teacher, inspector, school admin) through the one
/// audited grant path; returns (assignment id, initial password for a new admin account).
pub async fn grant_staff_role(
    st: &Ctx,
    auth: &AuthContext,
    tx: TenantTx,
    staff_id: i64,
    role: Role,
) -> Result<(i64, Option<String>), ApiError> {
    if !matches!(role, Role::Teacher | Role::Inspector | Role::SchoolAdmin) {
        return Err(ApiError::new(
            ErrorKind::Unprocessable,
            "ROLE_NOT_ASSIGNABLE",
            "这里只能授予任课教师、巡课或学校管理员角色；班主任请在班级中指定",
            json!({ "role": role.as_str() }),
        ));
    }
    let mut tx = tx;
    let (name, phone) = staff_contact(st, &mut tx, staff_id).await?;
    let tenant = tx.tenant().clone();
    tx.commit().await?;
    Ok(roles::assign_in_tenant(st, auth, &tenant, phone.as_str(), &name, role).await?)
}

// ---- departments (R-S03): one place for the API and the console --------------------------

fn department_name(name: &str) -> Result<String, ApiError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 50 {
        return Err(invalid(vec![FieldError::new(
            "部门名称",
            "部门名称不能为空且不超过 50 字",
        )]));
    }
    Ok(n.to_string())
}

fn department_taken(name: &str) -> ApiError {
    ApiError::new(
        ErrorKind::Conflict,
        "DEPARTMENT_EXISTS",
        format!("部门“{name}”已存在"),
        json!({ "name": name }),
    )
}

async fn audit_department(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    action: &str,
    id: i64,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    tx.audit(
        st,
        auth,
        AuditEvent::new(action, format!("department:{id}"), Outcome::Success).details(details),
    )
    .await
}

/// Creates a department; a name already used is 409 `DEPARTMENT_EXISTS`. Audited.
pub async fn create_department(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    raw_name: &str,
) -> Result<i64, ApiError> {
    let name = department_name(raw_name)?;
    let id = repo::create_department(tx.conn(), &name)
        .await?
        .ok_or_else(|| department_taken(&name))?;
    audit_department(
        st,
        auth,
        tx,
        "people.department.create",
        id,
        json!({ "name": name }),
    )
    .await?;
    Ok(id)
}

/// Renames a department. Audited.
pub async fn rename_department(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    id: i64,
    raw_name: &str,
) -> Result<(), ApiError> {
    let name = department_name(raw_name)?;
    match repo::rename_department(tx.conn(), id, &name).await {
        Ok(0) => return Err(not_found("部门", id)),
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(department_taken(&name))
        }
        Err(e) => return Err(e.into()),
    }
    audit_department(
        st,
        auth,
        tx,
        "people.department.rename",
        id,
        json!({ "name": name }),
    )
    .await
}

/// Deletes an empty department (one with members is 409 `DEPARTMENT_NOT_EMPTY`). Audited.
pub async fn delete_department(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    id: i64,
) -> Result<(), ApiError> {
    let members = repo::department_member_count(tx.conn(), id).await?;
    if members > 0 {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "DEPARTMENT_NOT_EMPTY",
            format!("该部门还有 {members} 名成员，请先调整成员所属部门"),
            json!({ "members": members }),
        ));
    }
    if repo::delete_department(tx.conn(), id).await? == 0 {
        return Err(not_found("部门", id));
    }
    audit_department(st, auth, tx, "people.department.delete", id, json!({})).await
}
