//! What `tenancy` (tenants and their registry) registers with the platform: see [`crate::web::feature`].

use crate::auth::model::Permission;
use crate::web::feature::Feature;

pub struct Tenancy;

impl Feature for Tenancy {
    fn name(&self) -> &'static str {
        "tenancy"
    }

    fn permissions(&self) -> &'static [Permission] {
        super::perms::PERMISSIONS
    }
}
