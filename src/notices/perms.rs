//! The permissions of `notices`: one constant per route, which its API handlers and its
//! pages both check, and the list the route walk and the policy check read.
//!
//! `send` (school admins and homeroom teachers; a teacher's classes are checked by the
//! service) writes, publishes, edits and withdraws one's notices and sees who read them;
//! `read` (parents) lists and reads the notices of their children.

use crate::auth::model::Permission;

const fn send(op: &'static str) -> Permission {
    Permission::tenant(op, "school.notices", "send")
}

const fn read(op: &'static str) -> Permission {
    Permission::tenant(op, "school.notices", "read")
}

pub const SENT: Permission = send("notices_sent");
pub const CREATE: Permission = send("notice_create");
pub const UPDATE: Permission = send("notice_update");
pub const PICTURE_ADD: Permission = send("notice_picture_add");
pub const PICTURE_REMOVE: Permission = send("notice_picture_remove");
pub const PUBLISH: Permission = send("notice_publish");
pub const WITHDRAW: Permission = send("notice_withdraw");
pub const READS: Permission = send("notice_reads");
pub const SENT_ONE: Permission = send("notice_sent");
pub const INBOX: Permission = read("notices_inbox");
pub const OPEN: Permission = read("notice_open");
/// A picture: for the sender and for the parents it is addressed to (the service checks).
pub const PICTURE: Permission = Permission::tenant("notice_picture", "tenant.info", "read");

pub const PERMISSIONS: &[Permission] = &[
    SENT,
    CREATE,
    UPDATE,
    PICTURE_ADD,
    PICTURE_REMOVE,
    PUBLISH,
    WITHDRAW,
    READS,
    SENT_ONE,
    INBOX,
    OPEN,
    PICTURE,
];
