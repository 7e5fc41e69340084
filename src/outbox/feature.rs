//! What `outbox` registers with the platform: see [`crate::web::feature`].

use poem::Route;

use crate::auth::model::Permission;
use crate::web::feature::Feature;

pub struct Outbox;

impl Feature for Outbox {
    fn name(&self) -> &'static str {
        "outbox"
    }

    fn permissions(&self) -> &'static [Permission] {
        super::perms::PERMISSIONS
    }

    fn mount_pages(&self, r: Route) -> Route {
        super::pages::mount(r)
    }
}
