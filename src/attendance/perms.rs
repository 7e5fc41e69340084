//! The permissions of `attendance`: one constant per route, which its API handlers and its
//! pages both check, and the list the route walk and the policy check read.
//!
//! `teach` (teachers, and so homeroom teachers and admins): one's sessions, check-in and the
//! roll (whose sessions: the service decides); `manage` (school admins): the school's day
//! and the check-in rules.

use crate::auth::model::Permission;

const fn teach(op: &'static str) -> Permission {
    Permission::tenant(op, "school.attendance", "teach")
}

const fn manage(op: &'static str) -> Permission {
    Permission::tenant(op, "school.attendance", "manage")
}

pub const MY_SESSIONS: Permission = teach("attendance_my_sessions");
pub const CHECKIN: Permission = teach("attendance_checkin");
pub const ROLL: Permission = teach("attendance_roll");
pub const MARK: Permission = teach("attendance_mark");
pub const DAY: Permission = manage("attendance_day");
pub const LESSON: Permission = teach("lesson_session");
pub const LESSON_RECORD: Permission = teach("lesson_record");
pub const LESSON_PICTURE_ADD: Permission = teach("lesson_picture_add");
pub const LESSON_PICTURE: Permission = teach("lesson_picture");
pub const LESSON_COMMENT: Permission = teach("lesson_comment");
const fn family(op: &'static str) -> Permission {
    Permission::tenant(op, "school.attendance", "family")
}
pub const CHILD_LESSONS: Permission = family("child_lessons");
pub const CHILD_LESSON_PICTURE: Permission = family("child_lesson_picture");
/// Where the children are today: homeroom teachers (their classes) and admins.
pub const WHEREABOUTS: Permission =
    Permission::tenant("attendance_whereabouts", "school.attendance", "whereabouts");
pub const RULES: Permission = manage("attendance_rules");
const fn inspect(op: &'static str) -> Permission {
    Permission::tenant(op, "school.inspections", "record")
}
const fn inspections(op: &'static str) -> Permission {
    Permission::tenant(op, "school.inspections", "read")
}
pub const INSPECTION_SESSIONS: Permission = inspect("inspection_sessions");
pub const INSPECTION_CREATE: Permission = inspect("inspection_create");
pub const INSPECTION_PICTURE_ADD: Permission = inspect("inspection_picture_add");
pub const INSPECTIONS: Permission = inspections("inspections");
pub const INSPECTION: Permission = inspections("inspection");
pub const INSPECTION_PICTURE: Permission = inspections("inspection_picture");
pub const REPORT: Permission = manage("attendance_teacher_report");
pub const REPORT_FILE: Permission = manage("attendance_teacher_report_download");
pub const RULES_UPDATE: Permission = manage("attendance_rules_update");

pub const PERMISSIONS: &[Permission] = &[
    MY_SESSIONS,
    CHECKIN,
    ROLL,
    MARK,
    DAY,
    WHEREABOUTS,
    REPORT,
    REPORT_FILE,
    RULES,
    RULES_UPDATE,
    INSPECTION_SESSIONS,
    INSPECTION_CREATE,
    INSPECTION_PICTURE_ADD,
    INSPECTIONS,
    INSPECTION,
    INSPECTION_PICTURE,
    LESSON,
    LESSON_RECORD,
    LESSON_PICTURE_ADD,
    LESSON_PICTURE,
    LESSON_COMMENT,
    CHILD_LESSONS,
    CHILD_LESSON_PICTURE,
];
