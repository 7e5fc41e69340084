//! The permissions of `courses`: one constant per route, which its API handlers and its
//! pages both check, and the list the route walk and the policy check read.

use crate::auth::model::Permission;

pub const LIST: Permission = Permission::tenant("courses_list", "school.courses", "read");
pub const SHOW: Permission = Permission::tenant("courses_show", "school.courses", "read");
pub const CREATE: Permission = Permission::tenant("courses_create", "school.courses", "write");
pub const UPDATE: Permission = Permission::tenant("courses_update", "school.courses", "write");
pub const PUBLISH: Permission = Permission::tenant("courses_publish", "school.courses", "write");
pub const CLOSE: Permission = Permission::tenant("courses_close", "school.courses", "write");
pub const PICTURE_ADD: Permission =
    Permission::tenant("courses_picture_add", "school.courses", "write");
pub const PICTURE_GET: Permission = Permission::tenant("courses_picture", "school.courses", "read");

/// Every route's permission in this feature.
pub const PERMISSIONS: &[Permission] = &[
    LIST,
    SHOW,
    CREATE,
    UPDATE,
    PUBLISH,
    CLOSE,
    PICTURE_ADD,
    PICTURE_GET,
];
