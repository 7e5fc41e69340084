//! The permissions of `enrollment`: one constant per route, which its API handlers and its
//! pages both check, and the list the route walk and the policy check read.

use crate::auth::model::Permission;

pub const OFFERS: Permission = Permission::tenant("child_offers", "school.enrollment", "book");
pub const BOOK: Permission = Permission::tenant("enrollment_book", "school.enrollment", "book");
pub const CANCEL: Permission = Permission::tenant("enrollment_cancel", "school.enrollment", "book");
pub const RECORDS: Permission =
    Permission::tenant("child_enrollments", "school.enrollment", "book");
pub const TIMETABLE: Permission =
    Permission::tenant("child_timetable", "school.enrollment", "book");
pub const CLASHES: Permission =
    Permission::tenant("child_course_clashes", "school.enrollment", "book");
pub const CONFIRM: Permission =
    Permission::tenant("enrollment_confirm", "school.enrollment", "manage");
pub const DRAW: Permission = Permission::tenant("lottery_draw", "school.enrollment", "manage");
pub const DRAW_RESULT: Permission = Permission::tenant("lottery_result", "school.courses", "read");
pub const REQUEST_FILE: Permission =
    Permission::tenant("enrollment_request_file", "school.requests", "file");
pub const CHILD_REQUESTS: Permission =
    Permission::tenant("child_requests", "school.requests", "file");
pub const REQUEST_CANCEL: Permission =
    Permission::tenant("enrollment_request_cancel", "school.requests", "file");
pub const REQUESTS: Permission =
    Permission::tenant("enrollment_requests", "school.requests", "review");
pub const REQUEST_APPROVE: Permission =
    Permission::tenant("enrollment_request_approve", "school.requests", "review");
pub const REQUEST_REJECT: Permission =
    Permission::tenant("enrollment_request_reject", "school.requests", "review");
pub const CANCEL_BY_SCHOOL: Permission =
    Permission::tenant("enrollment_cancel_by_school", "school.requests", "review");
pub const STATUS: Permission = Permission::tenant("enrollment_status", "school.enrollment", "view");
pub const MY_TIMETABLE: Permission = Permission::tenant("my_timetable", "school.timetable", "read");
pub const WAITLIST_JOIN: Permission =
    Permission::tenant("waitlist_join", "school.enrollment", "book");
pub const WAITLIST_MINE: Permission =
    Permission::tenant("child_waitlist", "school.enrollment", "book");
pub const SESSIONS: Permission = Permission::tenant("school_sessions", "school.enrollment", "view");

/// Every route's permission in this feature.
pub const PERMISSIONS: &[Permission] = &[
    OFFERS,
    BOOK,
    CANCEL,
    RECORDS,
    TIMETABLE,
    CLASHES,
    CONFIRM,
    WAITLIST_JOIN,
    WAITLIST_MINE,
    DRAW,
    DRAW_RESULT,
    REQUEST_FILE,
    CHILD_REQUESTS,
    REQUEST_CANCEL,
    REQUESTS,
    REQUEST_APPROVE,
    REQUEST_REJECT,
    CANCEL_BY_SCHOOL,
    STATUS,
    SESSIONS,
    MY_TIMETABLE,
];
