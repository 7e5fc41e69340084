//! What `auth` (sign-in pages and the platform console) registers with the platform: see [`crate::web::feature`].

use std::time::Duration;

use poem::Route;

use super::model::Permission;
use crate::web::feature::{Feature, Job};

pub struct Auth;

impl Feature for Auth {
    fn name(&self) -> &'static str {
        "auth"
    }

    fn permissions(&self) -> &'static [Permission] {
        super::perms::PERMISSIONS
    }

    fn mount_pages(&self, r: Route) -> Route {
        crate::auth::pages::operator::mount(crate::auth::pages::sign_in::mount(r))
    }

    fn jobs(&self) -> Vec<Job> {
        vec![
            // Audit records are chained about a second after they commit.
            Job {
                name: "audit-sealer",
                every: Duration::from_secs(1),
                run: |st, every| {
                    Box::pin(async move {
                        crate::audit::run_sealer(st.db_app.clone(), st.keys.audit.clone(), every)
                            .await
                    })
                },
            },
        ]
    }
}
