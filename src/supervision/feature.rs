//! What `supervision` registers with the platform: see [`crate::web::feature`].

use poem::Route;

use crate::auth::model::Permission;
use crate::outbox::Handler;
use crate::web::feature::Feature;

pub struct Supervision;

static HANDLERS: &[Handler] = &[Handler {
    kind: super::push::EVENT,
    batch: super::model::MAX_BATCH,
    run: super::client::deliver,
}];

impl Feature for Supervision {
    fn name(&self) -> &'static str {
        "supervision"
    }

    fn permissions(&self) -> &'static [Permission] {
        super::perms::PERMISSIONS
    }

    fn mount_pages(&self, r: Route) -> Route {
        super::pages::mount(r)
    }

    fn handlers(&self) -> &'static [Handler] {
        HANDLERS
    }
}
