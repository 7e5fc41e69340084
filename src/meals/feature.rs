//! What `meals` registers with the platform: see [`crate::web::feature`].

use std::time::Duration;

use poem::Route;

use crate::auth::model::Permission;
use crate::web::feature::{Feature, Job, NavEntry};

pub struct Meals;

const NAV: &[NavEntry] = &[
    NavEntry {
        rank: 130,
        group: "订餐",
        path: "/console/meals",
        label: "餐品与套餐",
    },
    NavEntry {
        rank: 131,
        group: "订餐",
        path: "/console/meals/menu",
        label: "每周菜单",
    },
    NavEntry {
        rank: 132,
        group: "订餐",
        path: "/console/meals/rules",
        label: "订餐规则",
    },
    NavEntry {
        rank: 133,
        group: "订餐",
        path: "/console/meals/counts",
        label: "备餐数",
    },
    NavEntry {
        rank: 134,
        group: "订餐",
        path: "/console/meals/stops",
        label: "停餐审批",
    },
];

impl Feature for Meals {
    fn name(&self) -> &'static str {
        "meals"
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

    fn jobs(&self) -> Vec<Job> {
        vec![Job {
            name: "meals-sweeper",
            every: Duration::from_secs(30),
            run: |st, every| Box::pin(super::sweep::run_sweeper(st, every)),
        }]
    }
}
