//! What `attendance` registers with the platform: see [`crate::web::feature`].

use poem::Route;

use crate::auth::model::Permission;
use crate::web::feature::{Feature, NavEntry};

pub struct Attendance;

const NAV: &[NavEntry] = &[
    NavEntry {
        rank: 95,
        group: "课程与报名",
        path: "/console/attendance",
        label: "签到与考勤",
    },
    NavEntry {
        rank: 97,
        group: "课程与报名",
        path: "/console/whereabouts",
        label: "学生去向",
    },
    NavEntry {
        rank: 98,
        group: "课程与报名",
        path: "/console/inspections",
        label: "巡课记录",
    },
];

impl Feature for Attendance {
    fn name(&self) -> &'static str {
        "attendance"
    }

    fn permissions(&self) -> &'static [Permission] {
        super::perms::PERMISSIONS
    }

    fn mount_pages(&self, r: Route) -> Route {
        super::pages::mount(r)
    }

    fn school_nav(&self) -> &'static [NavEntry] {
        NAV
    }
}
