//! The school calendar view, and [`school_tx`], which every school endpoint opens its
//! transaction with. The organisation (grades, classes, venues, periods) and the calendar's
//! editing live in `config_api.rs`. Each handler: resolve tenant → open the tenant
//! transaction → one service call.

use super::perms::CALENDAR;
use poem_openapi::{param::Query, payload::Json, OpenApi};

use super::model::CalendarView;
use super::service;
use crate::auth::guard::{authorize, Session};
use crate::auth::model::Permission;
use crate::error::ApiError;
use crate::http::handler::{ApiTags, AppData, RequestTenant};
use crate::kernel::tx::TenantTx;
use crate::tenancy::model::TenantKind;

pub struct SchoolApi;

/// Authorizes `perm` in the request's tenant, which must be a school, and opens its
/// transaction.
pub(crate) async fn school_tx(
    session: &Session,
    app: &AppData<'_>,
    tenant: &RequestTenant<'_>,
    perm: &Permission,
) -> Result<TenantTx, ApiError> {
    let t = tenant.0.require_kind(TenantKind::School)?;
    authorize(app.0, &session.0, tenant.0, perm).await?;
    Ok(TenantTx::begin(&app.0.db_app, t).await?)
}

#[OpenApi(tag = "ApiTags::School")]
impl SchoolApi {
    /// 学期校历（R-S05）
    ///
    /// Every day of the term with its kind: teaching day, make-up day (调休上课), holiday,
    /// closure or weekend. Without `term`, the term containing today.
    #[oai(
        path = "/school/calendar",
        method = "get",
        operation_id = "school_calendar"
    )]
    async fn calendar(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 学期代码，如 2026-autumn
        term: Query<Option<String>>,
    ) -> Result<Json<CalendarView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CALENDAR).await?;
        let out = service::calendar(&mut tx, term.0.as_deref(), app.0.clock.today()).await?;
        tx.commit().await?;
        Ok(Json(out))
    }
}
