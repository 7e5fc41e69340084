//! Endpoints of withdrawal and transfer requests (R-P05, R-P14: parents file, homeroom
//! teachers and admins review), the school's enrollment status and cancellation (R-T03),
//! the sessions of a day (R-T04) and a teacher's own timetable (R-T02).
//!
//! Thin: authorize at the route, one service call, map. Row scope (own child, classes led)
//! is enforced in [`super::requests`] and [`super::staff`].

use super::perms::{
    CANCEL_BY_SCHOOL, CHILD_REQUESTS, MY_TIMETABLE, REQUESTS, REQUEST_APPROVE, REQUEST_CANCEL,
    REQUEST_FILE, REQUEST_REJECT, SESSIONS, STATUS,
};
use chrono::NaiveDate;
use poem_openapi::param::{Path, Query};
use poem_openapi::{payload::Json, Object, OpenApi};

use super::model::{
    EnrollmentStatusView, EnrollmentView, RequestKind, RequestStatus, RequestView, SessionsView,
    TeachingTimetableView,
};
use super::requests::{self, NewRequest};
use super::staff;
use crate::auth::guard::Session;
use crate::error::ApiError;
use crate::http::handler::{ApiTags, AppData, RequestTenant};
use crate::school::api::school_tx;

pub struct EnrollmentStaffApi;

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FileRequestBody {
    /// 已报名（已缴费确认）的报名记录
    pub enrollment_id: i64,
    /// withdraw 退课 | transfer 调班
    pub kind: RequestKind,
    /// 调班时要调入的课程（仅调班）
    pub target_course_id: Option<i64>,
    /// 原因，1–500 字
    pub reason: String,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ReviewBody {
    /// 审核意见，最多 500 字；驳回时必填
    pub comment: Option<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CancelBySchoolBody {
    /// 取消原因，1–500 字，家长可见
    pub reason: String,
}

#[OpenApi(tag = "ApiTags::School")]
impl EnrollmentStaffApi {
    /// 家长：申请退课（R-P05）或调班（R-P14），由班主任审核
    ///
    /// Only for a confirmed (paid) enrollment of one's own child; a booking still waiting
    /// for payment is cancelled instead. One pending request per enrollment.
    #[oai(
        path = "/school/requests",
        method = "post",
        operation_id = "enrollment_request_file"
    )]
    async fn file(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<FileRequestBody>,
    ) -> Result<Json<RequestView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &REQUEST_FILE).await?;
        let b = body.0;
        let out = requests::file(
            app.0,
            &session.0,
            &mut tx,
            &NewRequest {
                enrollment_id: b.enrollment_id,
                kind: b.kind,
                target_course_id: b.target_course_id,
                reason: &b.reason,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 家长：孩子的退课、调班申请及审核意见、退费进度
    #[oai(
        path = "/school/children/:id/requests",
        method = "get",
        operation_id = "child_requests"
    )]
    async fn child_requests(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Vec<RequestView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CHILD_REQUESTS).await?;
        let out = requests::of_child(app.0, &session.0, &mut tx, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 家长：撤回待审核的申请
    #[oai(
        path = "/school/requests/:id",
        method = "delete",
        operation_id = "enrollment_request_cancel"
    )]
    async fn cancel(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<RequestView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &REQUEST_CANCEL).await?;
        let out = requests::withdraw_own(app.0, &session.0, &mut tx, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 班主任、学校管理员：本人所带班级学生的退课、调班申请（管理员为全校）
    #[oai(
        path = "/school/requests",
        method = "get",
        operation_id = "enrollment_requests"
    )]
    async fn list(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 按状态筛选，如 pending
        status: Query<Option<RequestStatus>>,
    ) -> Result<Json<Vec<RequestView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &REQUESTS).await?;
        let out = requests::list(app.0, &session.0, &mut tx, status.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 班主任、学校管理员：同意申请并立即生效
    ///
    /// A withdrawal ends the enrollment, frees the seat for the waitlist and opens a refund
    /// request. A transfer needs room in the target and no clash with the child's other
    /// bookings; otherwise it is refused (409) and the request stays pending.
    #[oai(
        path = "/school/requests/:id/approve",
        method = "post",
        operation_id = "enrollment_request_approve"
    )]
    async fn approve(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<ReviewBody>,
    ) -> Result<Json<RequestView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &REQUEST_APPROVE).await?;
        let out =
            requests::approve(app.0, &session.0, &mut tx, id.0, body.0.comment.as_deref()).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 班主任、学校管理员：驳回申请（须填写审核意见）
    #[oai(
        path = "/school/requests/:id/reject",
        method = "post",
        operation_id = "enrollment_request_reject"
    )]
    async fn reject(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<ReviewBody>,
    ) -> Result<Json<RequestView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &REQUEST_REJECT).await?;
        let out =
            requests::reject(app.0, &session.0, &mut tx, id.0, body.0.comment.as_deref()).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 班主任、学校管理员：为学生取消报名（R-T03），名额释放给候补；已缴费的生成退费申请
    #[oai(
        path = "/school/enrollments/:id/cancel-by-school",
        method = "post",
        operation_id = "enrollment_cancel_by_school"
    )]
    async fn cancel_by_school(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<CancelBySchoolBody>,
    ) -> Result<Json<EnrollmentView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CANCEL_BY_SCHOOL).await?;
        let out =
            requests::cancel_by_school(app.0, &session.0, &mut tx, id.0, &body.0.reason).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 班主任、学校管理员：报名情况（R-T03），按课程列出本人范围内学生的报名状态
    #[oai(
        path = "/school/enrollment-status",
        method = "get",
        operation_id = "enrollment_status"
    )]
    async fn status(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 只看某门课程
        course_id: Query<Option<i64>>,
        /// 只看某个班级
        class_id: Query<Option<i64>>,
    ) -> Result<Json<EnrollmentStatusView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STATUS).await?;
        let out =
            staff::enrollment_status(app.0, &session.0, &mut tx, course_id.0, class_id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 开课统计（R-T04）：某日开设的课后服务课程、时间、场地、教师与人数
    ///
    /// Weekday courses run on the school days of the term calendar; weekend courses on
    /// Saturdays and Sundays that are not holidays. A homeroom teacher sees the sessions
    /// of their own students, counted for their classes only.
    #[oai(
        path = "/school/sessions",
        method = "get",
        operation_id = "school_sessions"
    )]
    async fn sessions(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 日期，默认今天
        date: Query<Option<NaiveDate>>,
    ) -> Result<Json<SessionsView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &SESSIONS).await?;
        let out = staff::sessions(app.0, &session.0, &mut tx, date.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 教师：我的课表（R-T02），本人任教的课程按星期排列，含人数
    #[oai(
        path = "/school/my-timetable",
        method = "get",
        operation_id = "my_timetable"
    )]
    async fn my_timetable(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<TeachingTimetableView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &MY_TIMETABLE).await?;
        let out = staff::my_timetable(app.0, &session.0, &mut tx).await?;
        tx.commit().await?;
        Ok(Json(out))
    }
}
