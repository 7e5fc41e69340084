//! What `notify` registers with the platform: see [`crate::web::feature`].

use poem::Route;

use crate::auth::model::Permission;
use crate::outbox::Handler;
use crate::web::feature::Feature;

pub struct Notify;

static HANDLERS: &[Handler] = &[Handler {
    kind: super::model::EVENT,
    batch: 20,
    run: super::service::deliver,
}];

impl Feature for Notify {
    fn name(&self) -> &'static str {
        "notify"
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
