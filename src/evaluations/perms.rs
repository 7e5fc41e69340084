//! The permissions of `evaluations`: one constant per route, which its API handlers and its
//! pages both check, and the list the route walk and the policy check read.

use crate::auth::model::Permission;

const fn rate(op: &'static str) -> Permission {
    Permission::tenant(op, "school.evaluations", "rate")
}

pub const CHILD: Permission = rate("child_evaluations");
pub const CREATE: Permission = rate("evaluation_create");
pub const UPDATE: Permission = rate("evaluation_update");
pub const SUMMARY: Permission =
    Permission::tenant("evaluation_summary", "school.evaluations", "read");

pub const PERMISSIONS: &[Permission] = &[CHILD, CREATE, UPDATE, SUMMARY];
