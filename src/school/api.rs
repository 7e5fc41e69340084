//! School organisation endpoints (read views; editing comes with the school-organisation
//! issue). Each handler: resolve tenant → open the tenant transaction → one service call.

use poem_openapi::{param::Query, payload::Json, OpenApi};

use super::model::{CalendarView, GradeView, PeriodView, VenueView};
use super::{repo, service};
use crate::auth::guard::{authorize, Session};
use crate::auth::model::Permission;
use crate::error::ApiError;
use crate::http::{ApiTags, AppData, RequestTenant};
use crate::tenancy::context::TenantTx;
use crate::tenancy::model::TenantKind;

pub struct SchoolApi;

const CLASSES: Permission = Permission::tenant("school_classes", "school.org", "read");
const VENUES: Permission = Permission::tenant("school_venues", "school.org", "read");
const PERIODS: Permission = Permission::tenant("school_periods", "school.org", "read");
const CALENDAR: Permission = Permission::tenant("school_calendar", "school.calendar", "read");

pub const PERMISSIONS: &[Permission] = &[CLASSES, VENUES, PERIODS, CALENDAR];

/// Authorizes `perm` in the request's tenant, which must be a school, and opens its
/// transaction.
async fn school_tx(
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
    /// 年级与班级（R-S02）
    #[oai(
        path = "/school/classes",
        method = "get",
        operation_id = "school_classes"
    )]
    async fn classes(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<GradeView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CLASSES).await?;
        let out = service::grades_with_classes(&mut tx).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 场地（R-S05）
    #[oai(
        path = "/school/venues",
        method = "get",
        operation_id = "school_venues"
    )]
    async fn venues(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<VenueView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &VENUES).await?;
        let out = repo::venues(tx.conn()).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 时段（R-S05）
    #[oai(
        path = "/school/periods",
        method = "get",
        operation_id = "school_periods"
    )]
    async fn periods(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<PeriodView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PERIODS).await?;
        let out = repo::periods(tx.conn()).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

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
