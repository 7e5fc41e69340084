//! Audited reads of clear personal data: a staff member's ID number and phone, a student's
//! ID number. Every read writes an audit record in the same transaction, so a reveal that
//! is not recorded is not answered. Must never reveal anything without that record.

use serde_json::json;

use super::{audit, decrypt, id_column, STAFF_PHONE};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::people::error::PeopleError;
use crate::people::model::{Person, RevealedPii};
use crate::people::repo;

/// The clear ID number of a staff member or student, and a staff member's phone. Audited.
pub async fn reveal(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    who: Person,
    id: i64,
) -> Result<RevealedPii, PeopleError> {
    let secret = match who {
        Person::Staff => repo::staff_secret(tx.conn(), id)
            .await?
            .map(|(_, id_enc, ph_enc)| (id_enc, Some(ph_enc))),
        Person::Student => repo::student_secret(tx.conn(), id)
            .await?
            .map(|(_, id_enc, _)| (id_enc, None)),
    };
    let (id_enc, ph_enc) = secret.ok_or(PeopleError::not_found(who, id))?;
    let id_number = decrypt(st, tx, id_column(who), &id_enc)?;
    let phone = match ph_enc {
        Some(p) => Some(decrypt(st, tx, STAFF_PHONE, &p)?),
        None => None,
    };
    let fields = match phone {
        Some(_) => json!(["id_number", "phone"]),
        None => json!(["id_number"]),
    };
    audit(
        st,
        auth,
        tx,
        AuditEvent::new("pii.reveal", who.object(id), Outcome::Success)
            .details(json!({ "fields": fields })),
    )
    .await?;
    Ok(RevealedPii { id_number, phone })
}
