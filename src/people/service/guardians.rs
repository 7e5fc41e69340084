//! Guardians: the batch write (one guardian per phone, linked to their children, each
//! with a platform account holding the parent role in this school), adding one guardian
//! to a student, and unlinking one.
//!
//! Must never keep a guardian's clear phone: the tenant row holds the ciphertext under the
//! tenant's binding, the account its own under the platform's.

use std::collections::HashMap;

use serde_json::json;

use super::{aad, audit, decrypt, id_column, invalid, student_by_id, Written, PHONE_DOMAIN};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::keys::Keys;
use crate::people::error::PeopleError;
use crate::people::model::*;
use crate::people::repo::{self, GuardianBatch};
use crate::pii::{IdNumber, Phone};

/// Upserts guardians (by phone), links them to their students, and finds or creates each
/// guardian's platform account with the parent role in this school — all in the caller's
/// transaction. Returns the number of (student, guardian) links written.
pub async fn write_guardians(
    tx: &mut TenantTx,
    keys: &Keys,
    created_by: i64,
    rows: &[(i64, &GuardianInput)],
) -> Result<(u64, Written), PeopleError> {
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
    let accounts = crate::auth::grants::ensure_parent_accounts(
        tx.conn(),
        &acct.phone_hash,
        &acct.phone_enc,
        &acct.name,
        tenant_id,
        created_by,
    )
    .await?;
    tx.enter_role().await?;
    let (gs, accs): (Vec<i64>, Vec<i64>) = accounts
        .into_iter()
        .filter_map(|(h, a)| gid.get(&h).map(|g| (*g, a)))
        .unzip();
    repo::set_guardian_accounts(tx.conn(), &gs, &accs).await?;
    Ok((links, written))
}

pub async fn add_guardian(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    student_id: i64,
    name: &str,
    relation: Relation,
    phone: &str,
) -> Result<StudentView, PeopleError> {
    let Some((_, id_enc, _)) = repo::student_secret(tx.conn(), student_id).await? else {
        return Err(PeopleError::StudentNotFound(student_id));
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
    let column = id_column(Person::Student);
    let clear = decrypt(st, tx, column, &id_enc)?;
    let sid = IdNumber::parse(&clear, st.clock.today())
        .map_err(|source| PeopleError::Unreadable { column, source })?;
    let g = GuardianInput {
        student_id_number: sid,
        student_name: String::new(),
        name: name.into(),
        relation,
        phone,
    };
    write_guardians(tx, &st.keys, auth.account_id, &[(student_id, &g)]).await?;
    audit(
        st,
        auth,
        tx,
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

/// Unlinks a guardian from a student (the guardian and their account stay). Audited.
pub async fn remove_guardian(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    student_id: i64,
    guardian_id: i64,
) -> Result<(), PeopleError> {
    if repo::unlink_guardian(tx.conn(), student_id, guardian_id).await? == 0 {
        return Err(PeopleError::GuardianLinkNotFound {
            student: student_id,
            guardian: guardian_id,
        });
    }
    audit(
        st,
        auth,
        tx,
        AuditEvent::new(
            "people.guardian.unlink",
            format!("student:{student_id}"),
            Outcome::Success,
        )
        .details(json!({ "guardian_id": guardian_id })),
    )
    .await
}
