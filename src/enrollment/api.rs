//! Booking endpoints for parents, and the offline-payment confirmation for school admins.

use super::perms::{
    BOOK, CANCEL, CLASHES, CONFIRM, DRAW, DRAW_RESULT, OFFERS, RECORDS, TIMETABLE, WAITLIST_JOIN,
    WAITLIST_MINE,
};
use poem_openapi::param::Path;
use poem_openapi::{payload::Json, Object, OpenApi};

use super::model::*;
use super::{service, waitlist};
use crate::auth::api::Done;
use crate::auth::guard::Session;
use crate::error::ApiError;
use crate::http::handler::{ApiTags, AppData, RequestTenant};
use crate::school::api::school_tx;

pub struct EnrollmentApi;

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DrawRequest {
    /// 随机种子；省略时由系统生成并公布
    pub seed: Option<i64>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct BookRequest {
    pub student_id: i64,
    /// 课程；系列课程一次报名其全部子项目
    pub course_id: i64,
}

#[OpenApi(tag = "ApiTags::School")]
impl EnrollmentApi {
    /// 家长：孩子可报名的课程与托管（R-P02、R-P04），含剩余名额
    #[oai(
        path = "/school/children/:id/offers",
        method = "get",
        operation_id = "child_offers"
    )]
    async fn offers(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Vec<OfferView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &OFFERS).await?;
        let out = service::offers(app.0, &session.0, &mut tx, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 家长：报名（R-P03）。先检查孩子课表冲突，成功后保留名额至支付截止时间
    #[oai(
        path = "/school/enrollments",
        method = "post",
        operation_id = "enrollment_book"
    )]
    async fn book(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<BookRequest>,
    ) -> Result<Json<Vec<EnrollmentView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &BOOK).await?;
        let out = service::book(
            app.0,
            &session.0,
            &mut tx,
            body.0.student_id,
            body.0.course_id,
        )
        .await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 家长：取消待支付的报名，名额立即释放
    #[oai(
        path = "/school/enrollments/:id",
        method = "delete",
        operation_id = "enrollment_cancel"
    )]
    async fn cancel(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Done>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CANCEL).await?;
        service::cancel_hold(app.0, &session.0, &mut tx, id.0).await?;
        tx.commit().await?;
        Ok(Json(Done { ok: true }))
    }

    /// 家长：孩子的报名记录（R-P12）
    #[oai(
        path = "/school/children/:id/enrollments",
        method = "get",
        operation_id = "child_enrollments"
    )]
    async fn records(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Vec<EnrollmentView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &RECORDS).await?;
        let out = service::records(app.0, &session.0, &mut tx, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 家长：孩子本周课表（R-P11）
    #[oai(
        path = "/school/children/:id/timetable",
        method = "get",
        operation_id = "child_timetable"
    )]
    async fn timetable(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<TimetableView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &TIMETABLE).await?;
        let out = service::timetable(app.0, &session.0, &mut tx, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 家长：报名前查看时间冲突（R-P03）
    ///
    /// 孩子已报名或待支付的课程中，与该课程（系列课程为其每个单元）时间重叠的，每项附说明；无冲突为空列表。
    #[oai(
        path = "/school/children/:id/offers/:course_id/clashes",
        method = "get",
        operation_id = "child_course_clashes"
    )]
    async fn clashes(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        course_id: Path<i64>,
    ) -> Result<Json<Vec<ClashView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CLASHES).await?;
        let out = service::clashes(app.0, &session.0, &mut tx, id.0, course_id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 学校管理员：确认线下缴费，待支付的报名转为已报名（超时的保留不能确认）
    #[oai(
        path = "/school/enrollments/:id/confirm",
        method = "post",
        operation_id = "enrollment_confirm"
    )]
    async fn confirm(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<EnrollmentView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CONFIRM).await?;
        let out = service::confirm(app.0, &session.0, &mut tx, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 家长：课程满员时加入候补；抽签课程在报名期内提交抽签申请
    #[oai(
        path = "/school/waitlist",
        method = "post",
        operation_id = "waitlist_join"
    )]
    async fn waitlist_join(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<BookRequest>,
    ) -> Result<Json<WaitlistView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &WAITLIST_JOIN).await?;
        let out = waitlist::join(
            app.0,
            &session.0,
            &mut tx,
            body.0.student_id,
            body.0.course_id,
        )
        .await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 家长：孩子的候补与抽签申请
    #[oai(
        path = "/school/children/:id/waitlist",
        method = "get",
        operation_id = "child_waitlist"
    )]
    async fn child_waitlist(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Vec<WaitlistView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &WAITLIST_MINE).await?;
        let out = waitlist::of_child(app.0, &session.0, &mut tx, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 学校管理员：抽签（报名截止后一次，按种子可复现），中签者获得名额，其余按抽签顺序候补
    #[oai(
        path = "/school/courses/:id/draw",
        method = "post",
        operation_id = "lottery_draw"
    )]
    async fn draw(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<DrawRequest>,
    ) -> Result<Json<DrawView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &DRAW).await?;
        let out = waitlist::draw(app.0, &session.0, &mut tx, id.0, body.0.seed).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 抽签结果（种子、顺位与结果）
    #[oai(
        path = "/school/courses/:id/draw",
        method = "get",
        operation_id = "lottery_result"
    )]
    async fn draw_result(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<DrawView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &DRAW_RESULT).await?;
        let out = waitlist::draw_result(&mut tx, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }
}
