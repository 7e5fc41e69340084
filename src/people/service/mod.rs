//! Rules of a school's people: who may see whom (row scope), the one write path for staff,
//! students and guardians shared by the forms and the bulk import, the audited reads of
//! clear personal data, homeroom/role assignment of staff, and departments. One file per
//! flow; this file holds what they share (the blind-index domains, the ciphertext binding,
//! the audit append).
//!
//! Must never return a clear ID number or phone except through [`reveal`], which audits
//! every read. Knows no HTTP: every function answers a [`PeopleError`].

mod departments;
mod facts;
mod guardians;
mod homeroom;
mod reveal;
mod scope;
mod views;
mod write;

pub use departments::{create_department, delete_department, departments, rename_department};
pub use facts::{student_facts, teacher_facts, StudentFacts, TeacherFacts};
pub use guardians::{add_guardian, remove_guardian, write_guardians};
pub use homeroom::{clear_homeroom, grant_staff_role, set_homeroom};
pub use reveal::reveal;
pub(crate) use scope::caller_phone_hash;
pub use scope::{scope, Scope};
pub use views::{
    find_staff, list_staff, list_students, my_children, staff_view, student_by_id, student_view,
    StudentQuery,
};
pub use write::{
    create_or_update_staff, create_or_update_student, mark_left, staff_no_conflicts,
    students_by_id_number, write_staff, write_students, ClassIndex, Written,
};

use super::error::PeopleError;
use super::model::FieldError;
pub use super::model::Person;
use crate::audit::AuditEvent;
use crate::auth::model::AuthContext;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;

/// Blind-index domains. Phones share the accounts' domain so that a staff member or a
/// guardian is matched to their platform account by equal hashes.
pub const PHONE_DOMAIN: &str = "phone";
pub const ID_DOMAIN: &str = "id_number";

/// The refusal of fields that failed validation; other features that check text the same
/// way (enrollment's reasons) answer with it too.
pub fn invalid(errors: Vec<FieldError>) -> PeopleError {
    PeopleError::InvalidFields(errors)
}

/// Ciphertexts are bound to the tenant and the column: a blob copied to another school's
/// table, or from a phone column to an ID column, does not decrypt.
fn aad(tx: &TenantTx, column: &str) -> Vec<u8> {
    format!("{}/{column}", tx.tenant().schema).into_bytes()
}

/// The column a record kind keeps its encrypted ID number in (part of the ciphertext's
/// binding: never change one).
fn id_column(who: Person) -> &'static str {
    match who {
        Person::Staff => "staff.id_number",
        Person::Student => "students.id_number",
    }
}

const STAFF_PHONE: &str = "staff.phone";

/// Decrypts a stored value of `column`.
fn decrypt(
    st: &Ctx,
    tx: &TenantTx,
    column: &'static str,
    blob: &[u8],
) -> Result<String, PeopleError> {
    st.keys
        .pii
        .decrypt_str(blob, &aad(tx, column))
        .map_err(|source| PeopleError::Unreadable { column, source })
}

/// Appends the audit record of a change inside its transaction.
pub(in crate::people) async fn audit(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    ev: AuditEvent,
) -> Result<(), PeopleError> {
    Ok(tx.audit(st, auth, ev).await?)
}
