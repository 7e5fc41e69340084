//! Reading the trail back: filtered, newest first, keyset-paginated.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::chain::{record_from_row, RECORD_COLUMNS};
use super::{AuditError, AuditRecord, Outcome};

/// Page size when the filter does not say.
pub const DEFAULT_LIMIT: u32 = 200;
/// Largest page `search` returns, whatever the filter asks for.
pub const MAX_LIMIT: u32 = 10_000;

/// What to look for. Every `None` matches everything; `Default` gives a page of
/// [`DEFAULT_LIMIT`] newest records.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditFilter {
    /// Records at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Records strictly before this instant.
    pub to: Option<DateTime<Utc>>,
    pub actor_account_id: Option<i64>,
    pub tenant_id: Option<i64>,
    /// `auth.` matches `auth.login` and `auth.lockout`.
    pub action_prefix: Option<String>,
    pub outcome: Option<Outcome>,
    /// Page size, capped at [`MAX_LIMIT`].
    pub limit: u32,
    /// Keyset pagination: only records with a smaller id (pass the last id of the previous
    /// page). Stable while new records arrive, unlike an offset.
    pub before_id: Option<i64>,
}

impl Default for AuditFilter {
    fn default() -> Self {
        Self {
            from: None,
            to: None,
            actor_account_id: None,
            tenant_id: None,
            action_prefix: None,
            outcome: None,
            limit: DEFAULT_LIMIT,
            before_id: None,
        }
    }
}

/// Records matching `filter`, newest (highest id, i.e. most recently appended) first.
pub async fn search(pool: &PgPool, filter: &AuditFilter) -> Result<Vec<AuditRecord>, AuditError> {
    let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!(
        "select {RECORD_COLUMNS} from platform.audit_log where true"
    ));
    if let Some(from) = filter.from {
        qb.push(" and at >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        qb.push(" and at < ").push_bind(to);
    }
    if let Some(actor) = filter.actor_account_id {
        qb.push(" and actor_account_id = ").push_bind(actor);
    }
    if let Some(tenant) = filter.tenant_id {
        qb.push(" and tenant_id = ").push_bind(tenant);
    }
    if let Some(prefix) = filter.action_prefix.as_deref().filter(|p| !p.is_empty()) {
        // `action` is collated "C" and restricted to ASCII below 0x7f by its check
        // constraint, so every action starting with `prefix` lies in [prefix, prefix||0x7f):
        // a range the (action, at) index answers even with a generic plan, which a
        // parameterised LIKE could not. `starts_with` keeps the result exact regardless.
        qb.push(" and action >= ")
            .push_bind(prefix.to_owned())
            .push(" and action < ")
            .push_bind(format!("{prefix}\u{7f}"))
            .push(" and starts_with(action, ")
            .push_bind(prefix.to_owned())
            .push(")");
    }
    if let Some(outcome) = filter.outcome {
        qb.push(" and outcome = ").push_bind(outcome.as_str());
    }
    if let Some(before) = filter.before_id {
        qb.push(" and id < ").push_bind(before);
    }
    qb.push(" order by id desc limit ")
        .push_bind(i64::from(filter.limit.min(MAX_LIMIT)));

    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(record_from_row).collect()
}
