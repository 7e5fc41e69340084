//! Attendance's routes under `/school/attendance`. Thin: each checks its permission, opens
//! the tenant transaction and calls the service.

use chrono::NaiveDate;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Attachment, AttachmentType, Json};
use poem_openapi::OpenApi;

use super::model::*;
use super::perms::*;
use super::service;
use crate::auth::guard::Session;
use crate::error::ApiError;
use crate::http::handler::{ApiTags, AppData, RequestTenant};
use crate::school::api::school_tx;

pub struct AttendanceApi;

/// A stored picture as the answer.
fn binary(
    obj: crate::storage::StoredObject,
) -> poem_openapi::payload::Response<poem_openapi::payload::Binary<Vec<u8>>> {
    poem_openapi::payload::Response::new(poem_openapi::payload::Binary(obj.body.to_vec()))
        .header("content-type", obj.content_type.as_str())
        .header("x-content-type-options", "nosniff")
}

#[OpenApi(tag = "ApiTags::School")]
impl AttendanceApi {
    /// 我今天的课（R-T05）
    ///
    /// 任课教师某日（默认今天）要上的课，含签到时间、签到情况和点名进度。
    #[oai(
        path = "/school/attendance/my-sessions",
        method = "get",
        operation_id = "attendance_my_sessions"
    )]
    async fn my_sessions(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 日期，默认今天
        day: Query<Option<NaiveDate>>,
    ) -> Result<Json<Vec<AttendanceSession>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &MY_SESSIONS).await?;
        let out = service::my_sessions(&mut tx, &session.actor(app.0), day.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 教师签到（R-T05）
    ///
    /// 开课前若干分钟至下课可签，超过宽限记为迟到；可带手机定位，学校设置了位置时检查距离。
    #[oai(
        path = "/school/attendance/sessions/:course_id/:day/checkin",
        method = "post",
        operation_id = "attendance_checkin"
    )]
    async fn checkin(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        course_id: Path<i64>,
        day: Path<NaiveDate>,
        body: Json<CheckinRequest>,
    ) -> Result<Json<CheckinView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CHECKIN).await?;
        let out =
            service::check_in(&mut tx, &session.actor(app.0), course_id.0, day.0, &body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 点名单（R-T06）
    #[oai(
        path = "/school/attendance/sessions/:course_id/:day/roll",
        method = "get",
        operation_id = "attendance_roll"
    )]
    async fn roll(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        course_id: Path<i64>,
        day: Path<NaiveDate>,
    ) -> Result<Json<RollView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &ROLL).await?;
        let out = service::roll(&mut tx, &session.actor(app.0), course_id.0, day.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 提交点名（R-T06、R-P09）
    ///
    /// 每个孩子：已到、迟到、缺勤、早退或请假。新的或改变的考勤各通知家长一次；未请假缺勤同时提醒班主任。
    #[oai(
        path = "/school/attendance/sessions/:course_id/:day/roll",
        method = "put",
        operation_id = "attendance_mark"
    )]
    async fn mark(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        course_id: Path<i64>,
        day: Path<NaiveDate>,
        body: Json<RollInput>,
    ) -> Result<Json<RollView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &MARK).await?;
        let out =
            service::mark(&mut tx, &session.actor(app.0), course_id.0, day.0, &body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 课堂记录与点评（R-T07）
    #[oai(
        path = "/school/attendance/sessions/:course_id/:day/record",
        method = "get",
        operation_id = "lesson_session"
    )]
    async fn lesson(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        course_id: Path<i64>,
        day: Path<NaiveDate>,
    ) -> Result<Json<LessonSession>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &LESSON).await?;
        let (record, comments) =
            super::lessons::session(&mut tx, &session.actor(app.0), course_id.0, day.0).await?;
        tx.commit().await?;
        Ok(Json(LessonSession { record, comments }))
    }

    /// 填写课堂记录（本节课的内容）
    #[oai(
        path = "/school/attendance/sessions/:course_id/:day/record",
        method = "put",
        operation_id = "lesson_record"
    )]
    async fn lesson_record(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        course_id: Path<i64>,
        day: Path<NaiveDate>,
        body: Json<LessonRecordInput>,
    ) -> Result<Json<LessonRecordView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &LESSON_RECORD).await?;
        let out =
            super::lessons::set_record(&mut tx, &session.actor(app.0), course_id.0, day.0, &body.0)
                .await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 上传课堂照片（最多 9 张）
    #[oai(
        path = "/school/attendance/sessions/:course_id/:day/record/pictures",
        method = "post",
        operation_id = "lesson_picture_add"
    )]
    async fn lesson_picture_add(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        course_id: Path<i64>,
        day: Path<NaiveDate>,
        form: PhotoForm,
    ) -> Result<Json<LessonRecordView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &LESSON_PICTURE_ADD).await?;
        let upload = crate::courses::api::read_picture(form.file).await?;
        let out =
            super::lessons::add_picture(&mut tx, &session.actor(app.0), course_id.0, day.0, upload)
                .await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 课堂照片（序号从 1 开始）
    #[oai(
        path = "/school/attendance/sessions/:course_id/:day/record/pictures/:n",
        method = "get",
        operation_id = "lesson_picture"
    )]
    async fn lesson_picture(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        course_id: Path<i64>,
        day: Path<NaiveDate>,
        n: Path<u32>,
    ) -> Result<poem_openapi::payload::Response<poem_openapi::payload::Binary<Vec<u8>>>, ApiError>
    {
        let mut tx = school_tx(&session, &app, &tenant, &LESSON_PICTURE).await?;
        let obj = super::lessons::picture(
            &mut tx,
            &session.actor(app.0),
            course_id.0,
            day.0,
            n.0 as usize,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(binary(obj))
    }

    /// 点评一个孩子（标签和文字）
    #[oai(
        path = "/school/attendance/sessions/:course_id/:day/comments/:student_id",
        method = "put",
        operation_id = "lesson_comment"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn lesson_comment(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        course_id: Path<i64>,
        day: Path<NaiveDate>,
        student_id: Path<i64>,
        body: Json<CommentInput>,
    ) -> Result<Json<CommentView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &LESSON_COMMENT).await?;
        let out = super::lessons::comment(
            &mut tx,
            &session.actor(app.0),
            course_id.0,
            day.0,
            student_id.0,
            &body.0,
        )
        .await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 孩子的课堂记录、考勤和点评（R-P10，家长看）
    #[oai(
        path = "/school/children/:id/lessons",
        method = "get",
        operation_id = "child_lessons"
    )]
    async fn child_lessons(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Vec<ChildLesson>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CHILD_LESSONS).await?;
        let out = super::lessons::of_child(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 孩子课堂记录里的照片
    #[oai(
        path = "/school/children/:id/lessons/:course_id/:day/pictures/:n",
        method = "get",
        operation_id = "child_lesson_picture"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn child_lesson_picture(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        course_id: Path<i64>,
        day: Path<NaiveDate>,
        n: Path<u32>,
    ) -> Result<poem_openapi::payload::Response<poem_openapi::payload::Binary<Vec<u8>>>, ApiError>
    {
        let mut tx = school_tx(&session, &app, &tenant, &CHILD_LESSON_PICTURE).await?;
        let obj = super::lessons::picture(
            &mut tx,
            &session.actor(app.0),
            course_id.0,
            day.0,
            n.0 as usize,
            Some(id.0),
        )
        .await?;
        tx.commit().await?;
        Ok(binary(obj))
    }

    /// 全校某日的课与签到（管理员）
    ///
    /// 签到时间已过仍无人签到的课标为 missed。
    #[oai(
        path = "/school/attendance/day",
        method = "get",
        operation_id = "attendance_day"
    )]
    async fn day(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 日期，默认今天
        day: Query<Option<NaiveDate>>,
    ) -> Result<Json<AttendanceDay>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &DAY).await?;
        let out = service::day(&mut tx, &session.actor(app.0), day.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 学生去向（R-T08）
    ///
    /// 班主任看本班、管理员看全校每个孩子今天的课后服务：哪节课、在哪、几点、哪位老师、考勤。
    #[oai(
        path = "/school/attendance/whereabouts",
        method = "get",
        operation_id = "attendance_whereabouts"
    )]
    async fn whereabouts(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 日期，默认今天
        day: Query<Option<NaiveDate>>,
        /// 只看这个班
        class_id: Query<Option<i64>>,
    ) -> Result<Json<Whereabouts>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &WHEREABOUTS).await?;
        let out =
            super::whereabouts::whereabouts(&mut tx, &session.actor(app.0), day.0, class_id.0)
                .await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 教师签到月报（考勤考核）
    ///
    /// 每位任课教师当月已结束的课节：应上、已签到（其中迟到）、未签到。
    #[oai(
        path = "/school/attendance/teacher-report",
        method = "get",
        operation_id = "attendance_teacher_report"
    )]
    async fn report(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 月份，如 2026-10
        month: Query<String>,
    ) -> Result<Json<TeacherReport>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &REPORT).await?;
        let out = service::teacher_report(&mut tx, &session.actor(app.0), &month.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 下载教师签到月报（.xlsx）
    #[oai(
        path = "/school/attendance/teacher-report/download",
        method = "get",
        operation_id = "attendance_teacher_report_download"
    )]
    async fn report_download(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 月份，如 2026-10
        month: Query<String>,
    ) -> Result<Attachment<Vec<u8>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &REPORT_FILE).await?;
        let (r, bytes) =
            service::teacher_report_file(&mut tx, &session.actor(app.0), &month.0).await?;
        tx.commit().await?;
        Ok(Attachment::new(bytes)
            .attachment_type(AttachmentType::Attachment)
            .filename(format!("教师签到_{}.xlsx", r.month)))
    }

    /// 签到规则
    #[oai(
        path = "/school/attendance/rules",
        method = "get",
        operation_id = "attendance_rules"
    )]
    async fn rules(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<AttendanceRules>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &RULES).await?;
        let out = service::rules(&mut tx).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 修改签到规则
    #[oai(
        path = "/school/attendance/rules",
        method = "put",
        operation_id = "attendance_rules_update"
    )]
    async fn set_rules(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<AttendanceRules>,
    ) -> Result<Json<AttendanceRules>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &RULES_UPDATE).await?;
        let out = service::set_rules(&mut tx, &session.actor(app.0), &body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }
}

#[derive(Debug, poem_openapi::Multipart)]
pub struct PhotoForm {
    /// JPEG、PNG 或 WebP 照片，不超过 5 MB
    pub file: poem_openapi::types::multipart::Upload,
}

pub struct InspectionApi;

#[OpenApi(tag = "ApiTags::School")]
impl InspectionApi {
    /// 巡课：全校某日（默认今天）的课
    #[oai(
        path = "/school/inspections/sessions",
        method = "get",
        operation_id = "inspection_sessions"
    )]
    async fn sessions(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 日期，默认今天
        day: Query<Option<NaiveDate>>,
    ) -> Result<Json<AttendanceDay>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &INSPECTION_SESSIONS).await?;
        let out = service::day(&mut tx, &session.actor(app.0), day.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 记录一次巡课
    #[oai(
        path = "/school/inspections",
        method = "post",
        operation_id = "inspection_create"
    )]
    async fn create(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewInspection>,
    ) -> Result<Json<InspectionView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &INSPECTION_CREATE).await?;
        let out = super::inspections::create(&mut tx, &session.actor(app.0), &body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 巡课记录：管理员看全校的，巡课人员看自己的
    #[oai(
        path = "/school/inspections",
        method = "get",
        operation_id = "inspections"
    )]
    async fn list(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 日期，不填为全部（最近 200 条）
        day: Query<Option<NaiveDate>>,
    ) -> Result<Json<Vec<InspectionView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &INSPECTIONS).await?;
        let out = super::inspections::list(&mut tx, &session.actor(app.0), day.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 一条巡课记录
    #[oai(
        path = "/school/inspections/:id",
        method = "get",
        operation_id = "inspection"
    )]
    async fn one(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<InspectionView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &INSPECTION).await?;
        let out = super::inspections::one(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 上传巡课照片
    #[oai(
        path = "/school/inspections/:id/picture",
        method = "post",
        operation_id = "inspection_picture_add"
    )]
    async fn picture_add(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        form: PhotoForm,
    ) -> Result<Json<InspectionView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &INSPECTION_PICTURE_ADD).await?;
        let upload = crate::courses::api::read_picture(form.file).await?;
        let out =
            super::inspections::set_picture(&mut tx, &session.actor(app.0), id.0, upload).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 巡课照片
    #[oai(
        path = "/school/inspections/:id/picture",
        method = "get",
        operation_id = "inspection_picture"
    )]
    async fn picture(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<poem_openapi::payload::Response<poem_openapi::payload::Binary<Vec<u8>>>, ApiError>
    {
        let mut tx = school_tx(&session, &app, &tenant, &INSPECTION_PICTURE).await?;
        let obj = super::inspections::picture(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(binary(obj))
    }
}
