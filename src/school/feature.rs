//! What `school` (organisation and calendar) registers with the platform: see [`crate::web::feature`].

use poem::Route;

use crate::auth::model::Permission;
use crate::web::feature::{Feature, NavEntry};

pub struct School;

const NAV: &[NavEntry] = &[
    NavEntry {
        rank: 10,
        group: "基础信息",
        path: "/console/classes",
        label: "年级与班级",
    },
    NavEntry {
        rank: 60,
        group: "基础信息",
        path: "/console/settings",
        label: "场地与时段",
    },
    NavEntry {
        rank: 70,
        group: "基础信息",
        path: "/console/calendar",
        label: "学期校历",
    },
];

impl Feature for School {
    fn name(&self) -> &'static str {
        "school"
    }

    fn permissions(&self) -> &'static [Permission] {
        super::perms::PERMISSIONS
    }

    fn mount_pages(&self, r: Route) -> Route {
        let r = crate::school::pages::settings::mount(r);
        crate::school::pages::calendar::mount(r)
    }

    fn school_nav(&self) -> &'static [NavEntry] {
        NAV
    }
}
