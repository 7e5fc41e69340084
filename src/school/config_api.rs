//! A school's organisation (R-S02) and base configuration (R-S05): grades, classes and the
//! yearly promotion, venues, periods, and the editing of the term calendar. Each handler:
//! authorize → open the tenant transaction → one call into [`super::service`] → commit.
//! Rules, audit records and SQL live there and in `repo.rs`, never here.
//!
//! The lists of classes, venues and periods are here, not in `api.rs`, because poem-openapi
//! 5.1 writes one `paths` entry per API struct: `GET` and `POST /school/classes` in two
//! structs would give the document the same key twice (poem-web/poem#923).

use super::perms::{
    CLASSES, CLASS_CREATE, CLASS_DELETE, CLASS_PROMOTE, CLASS_UPDATE, GRADE_CREATE, GRADE_DELETE,
    GRADE_UPDATE, PERIODS, PERIOD_CREATE, PERIOD_DELETE, PERIOD_UPDATE, TERM_CREATE,
    TERM_DAY_DELETE, TERM_DAY_SET, TERM_UPDATE, VENUES, VENUE_CREATE, VENUE_DELETE, VENUE_UPDATE,
};
use poem_openapi::param::{Path, Query};
use poem_openapi::{payload::Json, OpenApi};

use super::api::school_tx;
use super::model::{
    CalendarDay, ClassPatch, ClassView, GradePatch, GradeView, NewClass, NewGrade, NewPeriod,
    NewTerm, NewVenue, PeriodPatch, PeriodView, PromoteRequest, PromotionResult, TermDayRequest,
    TermPatch, TermView, VenuePatch, VenueView,
};
use super::service;
use crate::auth::api::Done;
use crate::auth::guard::Session;
use crate::error::ApiError;
use crate::http::handler::{ApiTags, AppData, RequestTenant};

pub struct SchoolConfigApi;

#[OpenApi(tag = "ApiTags::School")]
impl SchoolConfigApi {
    /// 年级与班级（R-S02）
    ///
    /// 每个年级及其班级：系统名称、别名、班级教室、班主任。默认只列在读班级。
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
        /// 同时列出已毕业班级
        include_graduated: Query<Option<bool>>,
    ) -> Result<Json<Vec<GradeView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CLASSES).await?;
        let out =
            service::grades_with_classes(&mut tx, include_graduated.0.unwrap_or(false)).await?;
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
        let out = service::venues(&mut tx).await?;
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
        let out = service::periods(&mut tx).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 新增年级（R-S02）
    ///
    /// 年级序号 1..12 不可重复；升级时班级升入序号更大的下一个年级。
    #[oai(
        path = "/school/grades",
        method = "post",
        operation_id = "school_grade_create"
    )]
    async fn grade_create(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewGrade>,
    ) -> Result<Json<GradeView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &GRADE_CREATE).await?;
        let out = service::create_grade(&mut tx, &session.actor(app.0), body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 修改年级名称（R-S02）
    #[oai(
        path = "/school/grades/:id",
        method = "patch",
        operation_id = "school_grade_update"
    )]
    async fn grade_update(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<GradePatch>,
    ) -> Result<Json<GradeView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &GRADE_UPDATE).await?;
        let out = service::update_grade(&mut tx, &session.actor(app.0), id.0, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 删除年级（R-S02）
    ///
    /// 年级下还有班级（含已毕业班级）时拒绝：GRADE_HAS_CLASSES。
    #[oai(
        path = "/school/grades/:id",
        method = "delete",
        operation_id = "school_grade_delete"
    )]
    async fn grade_delete(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Done>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &GRADE_DELETE).await?;
        service::delete_grade(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(Json(Done { ok: true }))
    }

    /// 新增班级（R-S02）
    ///
    /// 系统名称如“三年级2班”，别名如“向日葵班”（教师和家长看到的名称），可指定班级教室。
    #[oai(
        path = "/school/classes",
        method = "post",
        operation_id = "school_class_create"
    )]
    async fn class_create(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewClass>,
    ) -> Result<Json<ClassView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CLASS_CREATE).await?;
        let out = service::create_class(&mut tx, &session.actor(app.0), body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 修改班级（R-S02）
    ///
    /// 只修改提交的字段；`alias`、`venue_id` 传 null 表示清除。
    #[oai(
        path = "/school/classes/:id",
        method = "patch",
        operation_id = "school_class_update"
    )]
    async fn class_update(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<ClassPatch>,
    ) -> Result<Json<ClassView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CLASS_UPDATE).await?;
        let out = service::update_class(&mut tx, &session.actor(app.0), id.0, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 删除班级（R-S02）
    ///
    /// 班级还有学生（任何状态）时拒绝：CLASS_HAS_STUDENTS，details.students 为学生数。
    #[oai(
        path = "/school/classes/:id",
        method = "delete",
        operation_id = "school_class_delete"
    )]
    async fn class_delete(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Done>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CLASS_DELETE).await?;
        service::delete_class(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(Json(Done { ok: true }))
    }

    /// 学年升级（R-S02）
    ///
    /// 新学年开始时一次完成：所有在读班级升入下一年级（代码和名称中的年级前缀随之改变，
    /// 如 g3c2 → g4c2、三年级2班 → 四年级2班，别名不变）；最高年级的班级毕业（代码改为
    /// `<代码>@<学年>`，在读学生标记为已毕业）。每个学年只能升级一次。`dry_run` 只返回计划。
    #[oai(
        path = "/school/classes/promote",
        method = "post",
        operation_id = "school_class_promote"
    )]
    async fn class_promote(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<PromoteRequest>,
    ) -> Result<Json<PromotionResult>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CLASS_PROMOTE).await?;
        let out = service::promote(&mut tx, &session.actor(app.0), body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 新增场地（R-S05）
    #[oai(
        path = "/school/venues",
        method = "post",
        operation_id = "school_venue_create"
    )]
    async fn venue_create(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewVenue>,
    ) -> Result<Json<VenueView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &VENUE_CREATE).await?;
        let out = service::create_venue(&mut tx, &session.actor(app.0), body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 修改场地（R-S05）
    ///
    /// 只修改提交的字段。
    #[oai(
        path = "/school/venues/:id",
        method = "patch",
        operation_id = "school_venue_update"
    )]
    async fn venue_update(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<VenuePatch>,
    ) -> Result<Json<VenueView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &VENUE_UPDATE).await?;
        let out = service::update_venue(&mut tx, &session.actor(app.0), id.0, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 删除场地（R-S05）
    ///
    /// 场地是某班级的班级教室或被其他记录使用时拒绝：VENUE_IN_USE，details.classes 为班级名称。
    #[oai(
        path = "/school/venues/:id",
        method = "delete",
        operation_id = "school_venue_delete"
    )]
    async fn venue_delete(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Done>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &VENUE_DELETE).await?;
        service::delete_venue(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(Json(Done { ok: true }))
    }

    /// 新增时段（R-S05）
    ///
    /// 如午托 12:00–14:00、课后 16:30–18:00；结束时间须晚于开始时间。
    #[oai(
        path = "/school/periods",
        method = "post",
        operation_id = "school_period_create"
    )]
    async fn period_create(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewPeriod>,
    ) -> Result<Json<PeriodView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PERIOD_CREATE).await?;
        let out = service::create_period(&mut tx, &session.actor(app.0), body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 修改时段（R-S05）
    ///
    /// 只修改提交的字段。
    #[oai(
        path = "/school/periods/:id",
        method = "patch",
        operation_id = "school_period_update"
    )]
    async fn period_update(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<PeriodPatch>,
    ) -> Result<Json<PeriodView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PERIOD_UPDATE).await?;
        let out = service::update_period(&mut tx, &session.actor(app.0), id.0, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 删除时段（R-S05）
    #[oai(
        path = "/school/periods/:id",
        method = "delete",
        operation_id = "school_period_delete"
    )]
    async fn period_delete(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Done>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PERIOD_DELETE).await?;
        service::delete_period(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(Json(Done { ok: true }))
    }

    /// 新增学期（R-S05）
    ///
    /// 学期最长 200 天，不与其他学期重叠；每周上课日如 [1,2,3,4,5]。
    #[oai(
        path = "/school/terms",
        method = "post",
        operation_id = "school_term_create"
    )]
    async fn term_create(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewTerm>,
    ) -> Result<Json<TermView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &TERM_CREATE).await?;
        let out = service::create_term(&mut tx, &session.actor(app.0), body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 修改学期（R-S05）
    ///
    /// 只修改提交的字段。修改后已设置的放假、调休、停课日须仍在学期内
    /// （EXCEPTION_OUTSIDE_TERM），调休上课日须仍不是每周上课日。
    #[oai(
        path = "/school/terms/:code",
        method = "patch",
        operation_id = "school_term_update"
    )]
    async fn term_update(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 学期代码，如 2026-autumn
        code: Path<String>,
        body: Json<TermPatch>,
    ) -> Result<Json<TermView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &TERM_UPDATE).await?;
        let out = service::update_term(&mut tx, &session.actor(app.0), &code.0, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 设置校历中的一天（R-S05）
    ///
    /// 设为放假（holiday）、调休上课（makeup）或停课（closure），已有设置则替换。
    /// 调休上课日须是本来不上课的日子；放假、停课须是本来上课的日子。
    /// 校历（GET /school/calendar）立即反映修改，托管与用餐按它计费。
    #[oai(
        path = "/school/terms/:code/days/:date",
        method = "put",
        operation_id = "school_term_day_set"
    )]
    async fn term_day_set(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 学期代码，如 2026-autumn
        code: Path<String>,
        /// 日期 YYYY-MM-DD
        date: Path<String>,
        body: Json<TermDayRequest>,
    ) -> Result<Json<CalendarDay>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &TERM_DAY_SET).await?;
        let out =
            service::set_day(&mut tx, &session.actor(app.0), &code.0, &date.0, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 取消校历中一天的设置（R-S05）
    ///
    /// 删除该日的放假、调休或停课设置，恢复按每周上课日计算；返回该日修改后的情况。
    #[oai(
        path = "/school/terms/:code/days/:date",
        method = "delete",
        operation_id = "school_term_day_delete"
    )]
    async fn term_day_delete(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 学期代码，如 2026-autumn
        code: Path<String>,
        /// 日期 YYYY-MM-DD
        date: Path<String>,
    ) -> Result<Json<CalendarDay>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &TERM_DAY_DELETE).await?;
        let out = service::delete_day(&mut tx, &session.actor(app.0), &code.0, &date.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }
}
