//! Writing a checked import in the import's transaction: students first, then the
//! guardians of children in the file or already in the school, through the service's one
//! write path. Must never write a plan that had row errors (the caller checks).

use std::collections::HashMap;

use super::check::{GuardianPlan, StudentPlan};
use crate::auth::model::AuthContext;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::people::error::PeopleError;
use crate::people::model::*;
use crate::people::service;
use crate::pii::IdNumber;

pub(super) async fn write_students_and_guardians(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    students: &StudentPlan,
    guardians: &GuardianPlan,
) -> Result<service::Written, PeopleError> {
    let refs: Vec<(&StudentInput, i64)> = students.rows.iter().map(|(s, c)| (s, *c)).collect();
    let (ids, mut w) = service::write_students(tx, &st.keys, &refs).await?;
    let mut by_id: HashMap<&str, i64> = students
        .rows
        .iter()
        .zip(&ids)
        .map(|((s, _), id)| (s.id_number.as_str(), *id))
        .collect();
    let outside: Vec<&IdNumber> = guardians
        .rows
        .iter()
        .filter(|g| !by_id.contains_key(g.student_id_number.as_str()))
        .map(|g| &g.student_id_number)
        .collect();
    let known = service::students_by_id_number(tx, &st.keys, &outside).await?;
    for g in &guardians.rows {
        if !by_id.contains_key(g.student_id_number.as_str()) {
            let h = st
                .keys
                .pii
                .blind_index(service::ID_DOMAIN, g.student_id_number.as_str());
            if let Some((id, _)) = known.get(&h) {
                by_id.insert(g.student_id_number.as_str(), *id);
            }
        }
    }
    let links: Vec<(i64, &GuardianInput)> = guardians
        .rows
        .iter()
        .filter_map(|g| by_id.get(g.student_id_number.as_str()).map(|id| (*id, g)))
        .collect();
    if !links.is_empty() {
        let (_, gw) = service::write_guardians(tx, &st.keys, auth.account_id, &links).await?;
        w.inserted += gw.inserted;
        w.updated += gw.updated;
    }
    Ok(w)
}
