//! The feature contract: what a feature registers with the running platform, in one place
//! (`http::features::FEATURES`), instead of five (the API tuple, the route permissions,
//! the page mounts, the console menu, the background jobs).
//!
//! A feature is a unit struct in its module implementing [`Feature`]. Must never hold
//! state: everything a feature needs at run time comes from the [`Ctx`] it is handed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use poem::Route;

use crate::auth::model::Permission;
use crate::kernel::ctx::Ctx;
use crate::outbox::Handler;

/// A running job: the future a [`Job`] starts.
pub type JobRun = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A background job: run once at start, for as long as the server runs, every `every`.
pub struct Job {
    pub name: &'static str,
    pub every: Duration,
    pub run: fn(Arc<Ctx>, Duration) -> JobRun,
}

/// An entry of the school console's side menu. Entries are shown by `rank`, grouped under
/// `group`; `path` is below the tenant (`/console/classes`).
pub struct NavEntry {
    pub rank: u16,
    pub group: &'static str,
    pub path: &'static str,
    pub label: &'static str,
}

pub trait Feature: Sync {
    /// Short English name, for logs.
    fn name(&self) -> &'static str;
    /// Every route's permission (the route walk test and the policy check read these).
    fn permissions(&self) -> &'static [Permission];
    /// Adds the feature's pages to the page routes.
    fn mount_pages(&self, r: Route) -> Route {
        r
    }
    /// The feature's entries in the school console's menu.
    fn school_nav(&self) -> &'static [NavEntry] {
        &[]
    }
    /// The feature's background jobs (sweepers), spawned by `serve`.
    fn jobs(&self) -> Vec<Job> {
        Vec::new()
    }
    /// The feature's outbox handlers, one per event kind it emits.
    fn handlers(&self) -> &'static [Handler] {
        &[]
    }
}

/// The school console's menu: every feature's [`NavEntry`]s by rank. Built once from the
/// feature list and handed to pages as request data, so the frame never imports the list.
#[derive(Default)]
pub struct SchoolMenu(pub Vec<&'static NavEntry>);

impl SchoolMenu {
    pub fn of(features: &[&dyn Feature]) -> Self {
        let mut entries: Vec<&'static NavEntry> = features
            .iter()
            .flat_map(|f| f.school_nav().iter())
            .collect();
        entries.sort_by_key(|e| e.rank);
        SchoolMenu(entries)
    }
}
