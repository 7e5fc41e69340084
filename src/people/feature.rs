//! What `people` (staff, students, guardians, imports) registers with the platform: see [`crate::web::feature`].

use poem::Route;

use crate::auth::model::Permission;
use crate::web::feature::{Feature, NavEntry};

pub struct People;

const NAV: &[NavEntry] = &[
    NavEntry {
        rank: 20,
        group: "基础信息",
        path: "/console/departments",
        label: "部门",
    },
    NavEntry {
        rank: 30,
        group: "基础信息",
        path: "/console/staff",
        label: "教职工",
    },
    NavEntry {
        rank: 40,
        group: "基础信息",
        path: "/console/students",
        label: "学生",
    },
    NavEntry {
        rank: 50,
        group: "基础信息",
        path: "/console/imports",
        label: "批量导入",
    },
];

impl Feature for People {
    fn name(&self) -> &'static str {
        "people"
    }

    fn permissions(&self) -> &'static [Permission] {
        super::perms::PERMISSIONS
    }

    fn mount_pages(&self, r: Route) -> Route {
        crate::people::pages::mount(r)
    }

    fn school_nav(&self) -> &'static [NavEntry] {
        NAV
    }
}
