//! Endpoints of meals (R-S07, R-S05, R-P07, R-P11, R-P12): the catalogue and its menus,
//! the school's meal rules, and a parent's ordering for their children. Each handler:
//! authorize in the school → open the tenant transaction → one service call → commit. Rules,
//! audit records and SQL live in `service/` and `repo.rs`, never here.
//!
//! Every route of meals is in this one struct: poem-openapi 5.1 writes one `paths` entry
//! per API struct (poem-web/poem#923). Paying goes through the payments API
//! (`payments_order_create` with `meal_order_ids`): there is no second payment path.

use chrono::NaiveDate;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Attachment, AttachmentType, Binary, Json, Response};
use poem_openapi::types::multipart::Upload as UploadFile;
use poem_openapi::{Multipart, OpenApi};

use super::error::MealError;
use super::model::*;
use super::perms::*;
use super::service;
use crate::auth::guard::Session;
use crate::error::ApiError;
use crate::http::handler::{ApiTags, AppData, RequestTenant};
use crate::school::api::school_tx;

pub struct MealApi;

#[derive(Debug, Multipart)]
pub struct MenuPictureForm {
    /// JPEG、PNG 或 WebP 图片，不超过 5 MB
    pub file: UploadFile,
}

#[OpenApi(tag = "ApiTags::School")]
impl MealApi {
    /// 餐品列表（R-S07）
    ///
    /// 早餐、午餐、下午茶、晚餐，含价格、适用年级、每日上限和过敏原。
    #[oai(
        path = "/school/meals/items",
        method = "get",
        operation_id = "meal_items"
    )]
    async fn items(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<MealItemView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &ITEMS).await?;
        let out = service::items(&mut tx).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 新建餐品（草稿）
    ///
    /// 价格为每个供餐日的价格；每项校验失败各有错误码，不做任何修改。
    #[oai(
        path = "/school/meals/items",
        method = "post",
        operation_id = "meal_item_create"
    )]
    async fn item_create(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewMealItem>,
    ) -> Result<Json<MealItemView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &ITEM_CREATE).await?;
        let who = session.actor(app.0);
        let out = service::add_item(&mut tx, &who, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 修改餐品
    ///
    /// 只改给出的字段；已下的订单保持下单时的价格。
    #[oai(
        path = "/school/meals/items/:id",
        method = "patch",
        operation_id = "meal_item_update"
    )]
    async fn item_update(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<MealItemPatch>,
    ) -> Result<Json<MealItemView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &ITEM_UPDATE).await?;
        let who = session.actor(app.0);
        let out = service::update_item(&mut tx, &who, id.0, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 发布餐品
    ///
    /// 发布后家长可以订。
    #[oai(
        path = "/school/meals/items/:id/publish",
        method = "post",
        operation_id = "meal_item_publish"
    )]
    async fn item_publish(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<MealItemView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &ITEM_PUBLISH).await?;
        let who = session.actor(app.0);
        let out = service::set_item_status(&mut tx, &who, id.0, true).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 下架餐品
    ///
    /// 下架后不能再订，已订的照常供应；包含它的套餐须先下架。
    #[oai(
        path = "/school/meals/items/:id/withdraw",
        method = "post",
        operation_id = "meal_item_withdraw"
    )]
    async fn item_withdraw(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<MealItemView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &ITEM_WITHDRAW).await?;
        let who = session.actor(app.0);
        let out = service::set_item_status(&mut tx, &who, id.0, false).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 套餐列表
    ///
    /// 每个套餐的餐品、可订年级（各餐品都适用的年级）和过敏原。
    #[oai(
        path = "/school/meals/packages",
        method = "get",
        operation_id = "meal_packages"
    )]
    async fn packages(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<MealPackageView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PACKAGES).await?;
        let out = service::packages(&mut tx).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 新建套餐（草稿）
    ///
    /// 套餐包含若干不同餐别的餐品，按套餐自己的价格计费。
    #[oai(
        path = "/school/meals/packages",
        method = "post",
        operation_id = "meal_package_create"
    )]
    async fn package_create(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewMealPackage>,
    ) -> Result<Json<MealPackageView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PACKAGE_CREATE).await?;
        let who = session.actor(app.0);
        let out = service::add_package(&mut tx, &who, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 修改套餐
    ///
    /// 只改给出的字段。
    #[oai(
        path = "/school/meals/packages/:id",
        method = "patch",
        operation_id = "meal_package_update"
    )]
    async fn package_update(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<MealPackagePatch>,
    ) -> Result<Json<MealPackageView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PACKAGE_UPDATE).await?;
        let who = session.actor(app.0);
        let out = service::update_package(&mut tx, &who, id.0, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 发布套餐
    ///
    /// 其中的餐品须都已发布。
    #[oai(
        path = "/school/meals/packages/:id/publish",
        method = "post",
        operation_id = "meal_package_publish"
    )]
    async fn package_publish(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<MealPackageView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PACKAGE_PUBLISH).await?;
        let who = session.actor(app.0);
        let out = service::set_package_status(&mut tx, &who, id.0, true).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 下架套餐
    ///
    /// 下架后不能再订，已订的照常供应。
    #[oai(
        path = "/school/meals/packages/:id/withdraw",
        method = "post",
        operation_id = "meal_package_withdraw"
    )]
    async fn package_withdraw(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<MealPackageView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PACKAGE_WITHDRAW).await?;
        let who = session.actor(app.0);
        let out = service::set_package_status(&mut tx, &who, id.0, false).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 一周菜单
    ///
    /// `day` 所在的一周（周一至周日）：每天是否供餐及各餐品的菜式。不填为本周。
    #[oai(
        path = "/school/meals/menu",
        method = "get",
        operation_id = "meal_menu"
    )]
    async fn menu(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        day: Query<Option<NaiveDate>>,
    ) -> Result<Json<Vec<MenuDayView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &MENU).await?;
        let out = service::menu_week(&mut tx, day.0.unwrap_or_else(|| app.0.clock.today())).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 设置菜单
    ///
    /// 设置一个餐品若干天的菜式；菜式留空表示删除当天菜单。
    #[oai(
        path = "/school/meals/items/:id/menu",
        method = "put",
        operation_id = "meal_menu_set"
    )]
    async fn menu_set(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<MenuInput>,
    ) -> Result<Json<Vec<MenuDayView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &MENU_SET).await?;
        let who = session.actor(app.0);
        let out = service::set_menu(&mut tx, &who, id.0, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 订餐规则（R-S05）
    ///
    /// 订餐周期、订餐时间、停餐截止时间、保留时间和食堂不供餐的日期。
    #[oai(
        path = "/school/meals/rules",
        method = "get",
        operation_id = "meal_rules"
    )]
    async fn rules(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<MealRulesView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &RULES).await?;
        let out = service::rules_view(&mut tx).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 修改订餐规则
    ///
    /// 只改给出的字段。
    #[oai(
        path = "/school/meals/rules",
        method = "patch",
        operation_id = "meal_rules_update"
    )]
    async fn rules_update(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<MealRulesPatch>,
    ) -> Result<Json<MealRulesView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &RULES_UPDATE).await?;
        let who = session.actor(app.0);
        let out = service::update_rules(&mut tx, &who, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 新增不供餐日
    ///
    /// 学校上课但食堂不供餐的日期，如食堂检修。
    #[oai(
        path = "/school/meals/excluded-days",
        method = "post",
        operation_id = "meal_excluded_day_add"
    )]
    async fn excluded_add(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewExcludedDay>,
    ) -> Result<Json<MealRulesView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &EXCLUDED_ADD).await?;
        let who = session.actor(app.0);
        let out = service::add_excluded_day(&mut tx, &who, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 取消不供餐日
    #[oai(
        path = "/school/meals/excluded-days/:day",
        method = "delete",
        operation_id = "meal_excluded_day_remove"
    )]
    async fn excluded_remove(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        day: Path<String>,
    ) -> Result<Json<MealRulesView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &EXCLUDED_REMOVE).await?;
        let who = session.actor(app.0);
        let out = service::remove_excluded_day(&mut tx, &who, &day.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 孩子可订的餐（R-P07）
    ///
    /// 订餐时间未结束的周期：供餐日、可订的餐品和套餐及合计金额、含孩子过敏原的提示。
    #[oai(
        path = "/school/children/:id/meals/offer",
        method = "get",
        operation_id = "child_meal_offer"
    )]
    async fn offer(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<MealOfferView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &OFFER).await?;
        let who = session.actor(app.0);
        let out = service::offer(&mut tx, &who, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 订餐
    ///
    /// 为自己的孩子订一个周期的餐品或套餐；订单保留到 `hold_expires_at`，在此之前用“下单支付”接口（`meal_order_ids`）付款。
    #[oai(
        path = "/school/meals/orders",
        method = "post",
        operation_id = "meal_order_create"
    )]
    async fn order(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewMealOrder>,
    ) -> Result<Json<MealOrderView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &ORDER).await?;
        let who = session.actor(app.0);
        let out = service::order(&mut tx, &who, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 取消未支付的订餐
    #[oai(
        path = "/school/meals/orders/:id/cancel",
        method = "post",
        operation_id = "meal_order_cancel"
    )]
    async fn order_cancel(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<MealOrderView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &ORDER_CANCEL).await?;
        let who = session.actor(app.0);
        let out = service::cancel(&mut tx, &who, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 孩子的订餐记录（R-P12）
    #[oai(
        path = "/school/children/:id/meals/orders",
        method = "get",
        operation_id = "child_meal_orders"
    )]
    async fn records(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Vec<MealOrderView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &RECORDS).await?;
        let who = session.actor(app.0);
        let out = service::records(&mut tx, &who, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 孩子一周的就餐（R-P11）
    ///
    /// `day` 所在的一周：每天是否在校就餐、吃什么。不填为本周。
    #[oai(
        path = "/school/children/:id/meals/week",
        method = "get",
        operation_id = "child_meal_week"
    )]
    async fn week(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        day: Query<Option<NaiveDate>>,
    ) -> Result<Json<WeekView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &WEEK).await?;
        let who = session.actor(app.0);
        let out = service::week(
            &mut tx,
            &who,
            id.0,
            day.0.unwrap_or_else(|| app.0.clock.today()),
        )
        .await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 孩子的过敏信息
    #[oai(
        path = "/school/children/:id/allergies",
        method = "get",
        operation_id = "child_allergies"
    )]
    async fn allergies(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Allergies>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &ALLERGIES).await?;
        let who = session.actor(app.0);
        let out = service::allergies(&mut tx, &who, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 登记孩子的过敏信息
    ///
    /// 订含这些过敏原的餐品前会提示确认。加密保存。
    #[oai(
        path = "/school/children/:id/allergies",
        method = "put",
        operation_id = "child_allergies_set"
    )]
    async fn allergies_set(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<Allergies>,
    ) -> Result<Json<Allergies>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &ALLERGIES_SET).await?;
        let who = session.actor(app.0);
        let out = service::set_allergies(&mut tx, &who, id.0, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 上传菜单图片
    ///
    /// 当天须已有菜式。
    #[oai(
        path = "/school/meals/items/:id/menu/:day/picture",
        method = "post",
        operation_id = "meal_menu_picture_add"
    )]
    async fn menu_picture_add(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        day: Path<NaiveDate>,
        form: MenuPictureForm,
    ) -> Result<Json<Vec<MenuDayView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &MENU_PICTURE_ADD).await?;
        let upload = crate::courses::api::read_picture(form.file).await?;
        let out =
            service::set_menu_picture(&mut tx, &session.actor(app.0), id.0, day.0, upload).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 菜单图片
    #[oai(
        path = "/school/meals/items/:id/menu/:day/picture",
        method = "get",
        operation_id = "meal_menu_picture"
    )]
    async fn menu_picture(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        day: Path<NaiveDate>,
    ) -> Result<Response<Binary<Vec<u8>>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &MENU_PICTURE).await?;
        let obj = service::menu_picture(&mut tx, &session.actor(app.0), id.0, day.0).await?;
        tx.commit().await?;
        Ok(Response::new(Binary(obj.body.to_vec()))
            .header("content-type", obj.content_type.as_str())
            .header("x-content-type-options", "nosniff"))
    }

    /// 食堂备餐数
    ///
    /// 某供餐日每个餐品按班级的份数，及有过敏登记的孩子（姓名脱敏）。停餐截止时间（`final_at`）后为最终数。
    #[oai(
        path = "/school/meals/counts",
        method = "get",
        operation_id = "meal_counts"
    )]
    async fn counts(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        day: Query<NaiveDate>,
    ) -> Result<Json<CanteenView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &COUNTS).await?;
        let out = service::counts(&mut tx, &session.actor(app.0), day.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 下载食堂备餐数（.xlsx）
    #[oai(
        path = "/school/meals/counts/download",
        method = "get",
        operation_id = "meal_counts_download"
    )]
    async fn counts_download(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        day: Query<NaiveDate>,
    ) -> Result<Attachment<Vec<u8>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &COUNTS_FILE).await?;
        let school = tx.tenant().name.clone();
        let v = service::counts(&mut tx, &session.actor(app.0), day.0).await?;
        tx.commit().await?;
        let bytes = service::counts_file(&v, &school)?;
        Ok(Attachment::new(bytes)
            .attachment_type(AttachmentType::Attachment)
            .filename(format!("备餐数_{}.xlsx", v.day)))
    }

    /// 家长申请停餐（R-P08）
    ///
    /// 为自己的孩子停一天或一段日期的餐，须在第一天的停餐截止时间（前一天的规定时间）前申请，由班主任审批。
    #[oai(
        path = "/school/meals/stops",
        method = "post",
        operation_id = "meal_stop_request"
    )]
    async fn stop_request(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewMealStop>,
    ) -> Result<Json<MealStopView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STOP_FILE).await?;
        let who = session.actor(app.0);
        let out = service::file_stop(&mut tx, &who, body.0, false).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 班主任或管理员登记停餐（R-T10）
    ///
    /// 直接登记，立即生效；班主任只能为本班学生登记。
    #[oai(
        path = "/school/meals/stops/register",
        method = "post",
        operation_id = "meal_stop_register"
    )]
    async fn stop_register(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewMealStop>,
    ) -> Result<Json<MealStopView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STOP_REGISTER).await?;
        let who = session.actor(app.0);
        let out = service::file_stop(&mut tx, &who, body.0, true).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 停餐审批列表
    ///
    /// 班主任看本班的，管理员看全校的，最新的在前。
    #[oai(
        path = "/school/meals/stops",
        method = "get",
        operation_id = "meal_stops"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn stops(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// pending 申请中 | approved 已批准 | rejected 已驳回 | withdrawn 已撤销；不填为全部
        status: Query<Option<String>>,
        /// 只看这个班
        class_id: Query<Option<i64>>,
        /// 每页条数，1 到 500，默认 100
        #[oai(default = "default_stops_limit")]
        limit: Query<i64>,
        /// 跳过的条数，默认 0
        #[oai(default)]
        offset: Query<i64>,
    ) -> Result<Json<MealStopPage>, ApiError> {
        let statuses = match status.0.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Vec::new(),
            Some(s) => vec![
                StopStatus::parse(s).ok_or_else(|| MealError::FilterInvalid {
                    field: "status",
                    value: s.to_string(),
                })?,
            ],
        };
        let filter = StopFilter {
            statuses,
            class_id: class_id.0,
            limit: limit.0,
            offset: offset.0,
        };
        let mut tx = school_tx(&session, &app, &tenant, &STOPS).await?;
        let who = session.actor(app.0);
        let out = service::stops(&mut tx, &who, &filter).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 批准停餐
    ///
    /// 等待期间已过截止时间的日子照常供餐，不在停餐之列。
    #[oai(
        path = "/school/meals/stops/:id/approve",
        method = "post",
        operation_id = "meal_stop_approve"
    )]
    async fn stop_approve(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<StopReview>,
    ) -> Result<Json<MealStopView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STOP_APPROVE).await?;
        let who = session.actor(app.0);
        let out = service::decide_stop(&mut tx, &who, id.0, true, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 驳回停餐
    ///
    /// 须填写原因。
    #[oai(
        path = "/school/meals/stops/:id/reject",
        method = "post",
        operation_id = "meal_stop_reject"
    )]
    async fn stop_reject(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<StopReview>,
    ) -> Result<Json<MealStopView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STOP_REJECT).await?;
        let who = session.actor(app.0);
        let out = service::decide_stop(&mut tx, &who, id.0, false, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 撤销停餐申请
    ///
    /// 只能撤销尚未审批的申请。
    #[oai(
        path = "/school/meals/stops/:id/withdraw",
        method = "post",
        operation_id = "meal_stop_withdraw"
    )]
    async fn stop_withdraw(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<MealStopView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STOP_WITHDRAW).await?;
        let who = session.actor(app.0);
        let out = service::withdraw_stop(&mut tx, &who, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 孩子的停餐记录
    ///
    /// 每条停餐的状态与退款进度：申请中、已批准、退款中、已到账、异常。
    #[oai(
        path = "/school/children/:id/meals/stops",
        method = "get",
        operation_id = "child_meal_stops"
    )]
    async fn child_stops(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Vec<MealStopView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CHILD_STOPS).await?;
        let who = session.actor(app.0);
        let out = service::child_stops(&mut tx, &who, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 订餐缴费统计（R-T09）
    ///
    /// 某周期每个班谁已缴费、谁已订未付、谁未订餐，实时来自订单。班主任看本班，管理员看全校。
    #[oai(
        path = "/school/meals/payments",
        method = "get",
        operation_id = "meal_payment_stats"
    )]
    async fn payment_stats(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        period_start: Query<NaiveDate>,
    ) -> Result<Json<PaymentStats>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PAYMENT_STATS).await?;
        let out = service::payment_stats(&mut tx, &session.actor(app.0), period_start.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 一键催缴（R-T09）
    ///
    /// 给本周期未缴费孩子（已订未付或未订餐）的家长发缴费提醒，每位家长每天最多一次，记入审计。
    #[oai(
        path = "/school/meals/payments/remind",
        method = "post",
        operation_id = "meal_payment_remind"
    )]
    async fn payment_remind(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewReminder>,
    ) -> Result<Json<ReminderView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &REMIND).await?;
        let out = service::remind(&mut tx, &session.actor(app.0), body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }
}

fn default_stops_limit() -> i64 {
    100
}
