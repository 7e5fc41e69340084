//! The permissions of `people`: one constant per route, which its API handlers and its
//! pages both check, and the list the route walk and the policy check read.

use crate::auth::model::Permission;

pub const DEPT_LIST: Permission = Permission::tenant("departments_list", "school.people", "read");
pub const DEPT_CREATE: Permission =
    Permission::tenant("departments_create", "school.people", "write");
pub const DEPT_RENAME: Permission =
    Permission::tenant("departments_rename", "school.people", "write");
pub const DEPT_DELETE: Permission =
    Permission::tenant("departments_delete", "school.people", "write");
pub const STAFF_LIST: Permission = Permission::tenant("staff_list", "school.people", "write");
pub const STAFF_CREATE: Permission = Permission::tenant("staff_create", "school.people", "write");
pub const STAFF_UPDATE: Permission = Permission::tenant("staff_update", "school.people", "write");
pub const STAFF_LEAVE: Permission = Permission::tenant("staff_leave", "school.people", "write");
pub const STAFF_REVEAL: Permission = Permission::tenant("staff_reveal", "school.people", "reveal");
pub const STAFF_ROLE: Permission = Permission::tenant("staff_grant_role", "tenant.roles", "write");
pub const HOMEROOM_SET: Permission = Permission::tenant("homeroom_set", "tenant.roles", "write");
pub const HOMEROOM_CLEAR: Permission =
    Permission::tenant("homeroom_clear", "tenant.roles", "write");
pub const STUDENT_LIST: Permission = Permission::tenant("students_list", "school.people", "read");
pub const STUDENT_CREATE: Permission =
    Permission::tenant("students_create", "school.people", "write");
pub const STUDENT_UPDATE: Permission =
    Permission::tenant("students_update", "school.people", "write");
pub const STUDENT_LEAVE: Permission =
    Permission::tenant("students_leave", "school.people", "write");
pub const STUDENT_REVEAL: Permission =
    Permission::tenant("students_reveal", "school.people", "reveal");
pub const GUARDIAN_ADD: Permission = Permission::tenant("guardians_add", "school.people", "write");
pub const GUARDIAN_REMOVE: Permission =
    Permission::tenant("guardians_remove", "school.people", "write");
pub const MY_CHILDREN: Permission = Permission::tenant("my_children", "school.family", "read");
pub const TEMPLATE: Permission = Permission::tenant("imports_template", "school.people", "write");
pub const UPLOAD: Permission = Permission::tenant("imports_upload", "school.people", "write");
pub const LIST: Permission = Permission::tenant("imports_list", "school.people", "write");
pub const SHOW: Permission = Permission::tenant("imports_show", "school.people", "write");
pub const REPORT: Permission = Permission::tenant("imports_report", "school.people", "write");

/// Every route's permission in this feature.
pub const PERMISSIONS: &[Permission] = &[
    DEPT_LIST,
    DEPT_CREATE,
    DEPT_RENAME,
    DEPT_DELETE,
    STAFF_LIST,
    STAFF_CREATE,
    STAFF_UPDATE,
    STAFF_LEAVE,
    STAFF_REVEAL,
    STAFF_ROLE,
    HOMEROOM_SET,
    HOMEROOM_CLEAR,
    STUDENT_LIST,
    STUDENT_CREATE,
    STUDENT_UPDATE,
    STUDENT_LEAVE,
    STUDENT_REVEAL,
    GUARDIAN_ADD,
    GUARDIAN_REMOVE,
    MY_CHILDREN,
    TEMPLATE,
    UPLOAD,
    LIST,
    SHOW,
    REPORT,
];
