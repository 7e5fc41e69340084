//! What `enrollment` (booking, waitlists, requests, timetables) registers with the platform: see [`crate::web::feature`].

use std::time::Duration;

use poem::Route;

use crate::auth::model::Permission;
use crate::outbox::Handler;
use crate::web::feature::{Feature, Job, NavEntry};

pub struct Enrollment;

const NAV: &[NavEntry] = &[
    NavEntry {
        rank: 90,
        group: "课程与报名",
        path: "/console/enrollments",
        label: "报名管理",
    },
    NavEntry {
        rank: 100,
        group: "课程与报名",
        path: "/console/requests",
        label: "退课与调班",
    },
];

impl Feature for Enrollment {
    fn name(&self) -> &'static str {
        "enrollment"
    }

    fn handlers(&self) -> &'static [Handler] {
        &[Handler {
            kind: crate::enrollment::push::EVENT,
            batch: 10,
            run: crate::enrollment::push::deliver,
        }]
    }

    fn permissions(&self) -> &'static [Permission] {
        super::perms::PERMISSIONS
    }

    fn mount_pages(&self, r: Route) -> Route {
        let r = crate::enrollment::pages::parent::mount(r);
        let r = crate::enrollment::pages::teacher::mount(r);
        let r = crate::enrollment::pages::requests_parent::mount(r);
        let r = crate::enrollment::pages::requests_review::mount(r);
        crate::enrollment::pages::console_enrollments::mount(r)
    }

    fn school_nav(&self) -> &'static [NavEntry] {
        NAV
    }

    fn jobs(&self) -> Vec<Job> {
        vec![
            // Expired holds and waitlist offers move on even when nobody books.
            Job {
                name: "waitlist-sweeper",
                every: Duration::from_secs(30),
                run: |st, every| Box::pin(crate::enrollment::waitlist::run_sweeper(st, every)),
            },
        ]
    }
}
