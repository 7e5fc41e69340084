//! The one write path for staff and students, shared by the forms and the bulk import:
//! batches encrypted, hashed and masked once, upserted by ID number; the claim of an ID
//! number before a single record is written; leaving the school.
//!
//! Must never store a clear ID number or phone: only the ciphertext, the keyed hash and the
//! masked form leave this file.

use std::collections::HashMap;

use serde_json::json;

use super::{aad, audit, find_staff, id_column, invalid, student_by_id, ID_DOMAIN, PHONE_DOMAIN};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::keys::Keys;
use crate::people::error::PeopleError;
use crate::people::model::*;
use crate::people::repo::{self, StaffBatch, StudentBatch};
use crate::pii::IdNumber;

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
) -> Result<(Vec<i64>, Written), PeopleError> {
    let id_aad = aad(tx, id_column(Person::Staff));
    let ph_aad = aad(tx, super::STAFF_PHONE);
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
) -> Result<Vec<(usize, String)>, PeopleError> {
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
    pub async fn load(tx: &mut TenantTx) -> Result<ClassIndex, PeopleError> {
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
) -> Result<(Vec<i64>, Written), PeopleError> {
    let id_aad = aad(tx, id_column(Person::Student));
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
) -> Result<HashMap<Vec<u8>, (i64, String)>, PeopleError> {
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

/// Makes `hash` the ID number of record `id` (`None`: a record about to be created).
/// Refuses an ID number that belongs to someone else; a corrected ID number is moved onto
/// the record first, so that the upsert by ID number that follows updates it.
async fn claim_id_number(
    tx: &mut TenantTx,
    who: Person,
    id: Option<i64>,
    hash: &[u8],
) -> Result<(), PeopleError> {
    let owner = repo::owner_of_id_number(tx.conn(), who, hash).await?;
    match (id, owner) {
        (None, Some(_)) => Err(PeopleError::IdNumberExists { who }),
        (Some(id), Some(o)) if o != id => Err(PeopleError::IdNumberOfAnother { who, id }),
        (Some(id), None) => {
            if repo::set_id_number_hash(tx.conn(), who, id, hash).await? == 0 {
                return Err(PeopleError::not_found(who, id));
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
) -> Result<(), PeopleError> {
    if repo::set_status(tx.conn(), who, id, who.left()).await? == 0 {
        return Err(PeopleError::not_found(who, id));
    }
    let action = match who {
        Person::Staff => "people.staff.leave",
        Person::Student => "people.student.leave",
    };
    audit(
        st,
        auth,
        tx,
        AuditEvent::new(action, who.object(id), Outcome::Success),
    )
    .await
}

// ---- single-record forms -----------------------------------------------------------------

pub async fn create_or_update_staff(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    id: Option<i64>,
    fields: &StaffFields,
) -> Result<StaffView, PeopleError> {
    let today = st.clock.today();
    let input = fields.check(today).map_err(invalid)?;
    let hash = st.keys.pii.blind_index(ID_DOMAIN, input.id_number.as_str());
    claim_id_number(tx, Person::Staff, id, &hash).await?;
    if !staff_no_conflicts(tx, &st.keys, &[(0, &input)])
        .await?
        .is_empty()
    {
        return Err(PeopleError::StaffNoTaken {
            staff_no: input.staff_no,
        });
    }
    let (ids, _) = write_staff(tx, &st.keys, std::slice::from_ref(&input)).await?;
    let sid = ids.first().copied().unwrap_or_default();
    let view = find_staff(st, tx, sid)
        .await?
        .ok_or(PeopleError::StaffNotFound(sid))?;
    audit(
        st,
        auth,
        tx,
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
    Ok(view)
}

pub async fn create_or_update_student(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    id: Option<i64>,
    name: &str,
    id_number: &str,
    class_id: i64,
) -> Result<StudentView, PeopleError> {
    let today = st.clock.today();
    let fields = StudentFields {
        name: name.into(),
        id_number: id_number.into(),
        class: class_id.to_string(),
    };
    let input = fields.check(today).map_err(invalid)?;
    if !repo::class_is_active(tx.conn(), class_id).await? {
        return Err(invalid(vec![FieldError::new(
            student_cols::CLASS,
            "班级不存在或已毕业",
        )]));
    }
    let hash = st.keys.pii.blind_index(ID_DOMAIN, input.id_number.as_str());
    claim_id_number(tx, Person::Student, id, &hash).await?;
    let (ids, _) = write_students(tx, &st.keys, &[(&input, class_id)]).await?;
    let sid = ids.first().copied().unwrap_or_default();
    audit(
        st,
        auth,
        tx,
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
