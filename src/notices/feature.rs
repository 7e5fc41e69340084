//! What `notices` registers with the platform: see [`crate::web::feature`].

use poem::Route;

use crate::auth::model::Permission;
use crate::web::feature::{Feature, NavEntry};

pub struct Notices;

const NAV: &[NavEntry] = &[NavEntry {
    rank: 140,
    group: "家校沟通",
    path: "/console/notices",
    label: "通知公告",
}];

impl Feature for Notices {
    fn name(&self) -> &'static str {
        "notices"
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
