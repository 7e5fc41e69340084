//! Departments (R-S03): one place for the API and the console to list, create, rename and
//! delete them, each change audited. Must never delete a department that still has members.

use serde_json::json;

use super::{audit, invalid};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::error::violated_constraint;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::people::error::PeopleError;
use crate::people::model::{DepartmentView, FieldError};
use crate::people::repo;

/// The unique name of a department (`departments.name unique`).
const NAME_KEY: &str = "departments_name_key";

/// Every department with its member count, by name.
pub async fn departments(tx: &mut TenantTx) -> Result<Vec<DepartmentView>, PeopleError> {
    Ok(repo::departments(tx.conn())
        .await?
        .into_iter()
        .map(|(id, name, members)| DepartmentView { id, name, members })
        .collect())
}

fn department_name(name: &str) -> Result<String, PeopleError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 50 {
        return Err(invalid(vec![FieldError::new(
            "部门名称",
            "部门名称不能为空且不超过 50 字",
        )]));
    }
    Ok(n.to_string())
}

async fn audit_department(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    action: &str,
    id: i64,
    details: serde_json::Value,
) -> Result<(), PeopleError> {
    audit(
        st,
        auth,
        tx,
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
) -> Result<i64, PeopleError> {
    let name = department_name(raw_name)?;
    let id = repo::create_department(tx.conn(), &name)
        .await?
        .ok_or_else(|| PeopleError::DepartmentExists { name: name.clone() })?;
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
) -> Result<(), PeopleError> {
    let name = department_name(raw_name)?;
    match repo::rename_department(tx.conn(), id, &name).await {
        Ok(0) => return Err(PeopleError::DepartmentNotFound(id)),
        Ok(_) => {}
        Err(e) if violated_constraint(&e) == Some(NAME_KEY) => {
            return Err(PeopleError::DepartmentExists { name })
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
) -> Result<(), PeopleError> {
    let members = repo::department_member_count(tx.conn(), id).await?;
    if members > 0 {
        return Err(PeopleError::DepartmentNotEmpty { id, members });
    }
    if repo::delete_department(tx.conn(), id).await? == 0 {
        return Err(PeopleError::DepartmentNotFound(id));
    }
    audit_department(st, auth, tx, "people.department.delete", id, json!({})).await
}
