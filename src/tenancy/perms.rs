//! The permissions of `tenancy`: one constant per route, which its API handlers and its
//! pages both check, and the list the route walk and the policy check read.

use crate::auth::model::Permission;

pub const CURRENT: Permission = Permission::tenant("tenant_current", "tenant.info", "read");

/// Every route's permission in this feature.
pub const PERMISSIONS: &[Permission] = &[CURRENT];
