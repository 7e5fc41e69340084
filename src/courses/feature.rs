//! What `courses` (the course catalogue) registers with the platform: see [`crate::web::feature`].

use poem::Route;

use crate::auth::model::Permission;
use crate::outbox::Handler;
use crate::web::feature::{Feature, NavEntry};

pub struct Courses;

const NAV: &[NavEntry] = &[NavEntry {
    rank: 80,
    group: "课程与报名",
    path: "/console/courses",
    label: "课程发布",
}];

impl Feature for Courses {
    fn name(&self) -> &'static str {
        "courses"
    }

    fn handlers(&self) -> &'static [Handler] {
        &[
            Handler {
                kind: crate::courses::push::EVENT,
                batch: 10,
                run: crate::courses::push::deliver,
            },
            Handler {
                kind: crate::courses::push::TEACHER_EVENT,
                batch: 10,
                run: crate::courses::push::deliver_teacher,
            },
        ]
    }

    fn permissions(&self) -> &'static [Permission] {
        super::perms::PERMISSIONS
    }

    fn mount_pages(&self, r: Route) -> Route {
        crate::courses::pages::mount(r)
    }

    fn school_nav(&self) -> &'static [NavEntry] {
        NAV
    }
}
