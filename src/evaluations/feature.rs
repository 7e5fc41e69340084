//! What `evaluations` registers with the platform: see [`crate::web::feature`].

use poem::Route;

use crate::auth::model::Permission;
use crate::web::feature::{Feature, NavEntry};

pub struct Evaluations;

const NAV: &[NavEntry] = &[NavEntry {
    rank: 96,
    group: "课程与报名",
    path: "/console/evaluations",
    label: "课程评价",
}];

impl Feature for Evaluations {
    fn name(&self) -> &'static str {
        "evaluations"
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
