//! The permissions of `school`: one constant per route, which its API handlers and its
//! pages both check, and the list the route walk and the policy check read.

use crate::auth::model::Permission;

pub const CALENDAR: Permission = Permission::tenant("school_calendar", "school.calendar", "read");
pub const CLASSES: Permission = Permission::tenant("school_classes", "school.org", "read");
pub const VENUES: Permission = Permission::tenant("school_venues", "school.org", "read");
pub const PERIODS: Permission = Permission::tenant("school_periods", "school.org", "read");
pub const GRADE_CREATE: Permission =
    Permission::tenant("school_grade_create", "school.org", "write");
pub const GRADE_UPDATE: Permission =
    Permission::tenant("school_grade_update", "school.org", "write");
pub const GRADE_DELETE: Permission =
    Permission::tenant("school_grade_delete", "school.org", "write");
pub const CLASS_CREATE: Permission =
    Permission::tenant("school_class_create", "school.org", "write");
pub const CLASS_UPDATE: Permission =
    Permission::tenant("school_class_update", "school.org", "write");
pub const CLASS_DELETE: Permission =
    Permission::tenant("school_class_delete", "school.org", "write");
pub const CLASS_PROMOTE: Permission =
    Permission::tenant("school_class_promote", "school.org", "write");
pub const VENUE_CREATE: Permission =
    Permission::tenant("school_venue_create", "school.org", "write");
pub const VENUE_UPDATE: Permission =
    Permission::tenant("school_venue_update", "school.org", "write");
pub const VENUE_DELETE: Permission =
    Permission::tenant("school_venue_delete", "school.org", "write");
pub const PERIOD_CREATE: Permission =
    Permission::tenant("school_period_create", "school.org", "write");
pub const PERIOD_UPDATE: Permission =
    Permission::tenant("school_period_update", "school.org", "write");
pub const PERIOD_DELETE: Permission =
    Permission::tenant("school_period_delete", "school.org", "write");
pub const TERM_CREATE: Permission =
    Permission::tenant("school_term_create", "school.calendar", "write");
pub const TERM_UPDATE: Permission =
    Permission::tenant("school_term_update", "school.calendar", "write");
pub const TERM_DAY_SET: Permission =
    Permission::tenant("school_term_day_set", "school.calendar", "write");
pub const TERM_DAY_DELETE: Permission =
    Permission::tenant("school_term_day_delete", "school.calendar", "write");

/// Every route's permission in this feature.
pub const PERMISSIONS: &[Permission] = &[
    CALENDAR,
    CLASSES,
    VENUES,
    PERIODS,
    GRADE_CREATE,
    GRADE_UPDATE,
    GRADE_DELETE,
    CLASS_CREATE,
    CLASS_UPDATE,
    CLASS_DELETE,
    CLASS_PROMOTE,
    VENUE_CREATE,
    VENUE_UPDATE,
    VENUE_DELETE,
    PERIOD_CREATE,
    PERIOD_UPDATE,
    PERIOD_DELETE,
    TERM_CREATE,
    TERM_UPDATE,
    TERM_DAY_SET,
    TERM_DAY_DELETE,
];
