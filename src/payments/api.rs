//! Payment endpoints: a parent pays held enrollments and follows orders and refunds (R-P06,
//! R-P05); a school admin sees the school's orders and refunds a line (R-S08).

use super::perms::{
    DAY_CLOSE, MEAL_REFUNDS_DUE, MEAL_REFUND_BATCH, OAUTH_BIND, OAUTH_URL, ORDERS_MINE,
    ORDERS_SCHOOL, ORDER_CANCEL, ORDER_CREATE, ORDER_PAY, REFUND_CREATE, SETTLEMENT,
    SETTLEMENT_FILE,
};
use chrono::NaiveDate;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Attachment, AttachmentType};
use poem_openapi::{payload::Json, Object, OpenApi};

use super::model::*;
use super::report;
use super::service;
use crate::auth::guard::{authorize, authorize_tenant, client_info, Session};
use crate::error::ApiError;
use crate::http::handler::{ApiTags, AppData, RequestTenant};
use crate::kernel::ids::OrderId;
use crate::people::import_api::FileFormat;
use crate::school::api::school_tx;

pub struct PaymentApi;

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OAuthUrl {
    /// 在微信内置浏览器中跳转到此地址（静默授权）
    pub url: String,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OpenidBind {
    /// 微信回跳时带回的 code
    pub code: String,
    /// 微信回跳时带回的 state
    pub state: String,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OpenidBound {
    pub bound: bool,
}

#[OpenApi(tag = "ApiTags::School")]
impl PaymentApi {
    /// 家长：为名额保留中的报名下单并拉起微信支付（R-P06）
    ///
    /// 同一幂等键重试返回同一订单；支付成功以微信支付通知为准，报名随之确认。
    #[oai(
        path = "/school/payments/orders",
        method = "post",
        operation_id = "payment_order_create"
    )]
    async fn create_order(
        &self,
        req: &Request,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewOrder>,
    ) -> Result<Json<OrderView>, ApiError> {
        let tx = school_tx(&session, &app, &tenant, &ORDER_CREATE).await?;
        let ip = client_info(req).ip;
        Ok(Json(
            service::create_order(app.0, &session.0, tx, body.0, ip).await?,
        ))
    }

    /// 家长：继续支付待支付的订单（R-P06）
    ///
    /// 离开支付页后再次支付用这个；换了支付方式（微信内 ↔ 手机浏览器）时关闭原订单并为同样的报名开新订单。
    #[oai(
        path = "/school/payments/orders/:id/pay",
        method = "post",
        operation_id = "payment_order_pay"
    )]
    async fn pay_order(
        &self,
        req: &Request,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<PayOrder>,
    ) -> Result<Json<OrderView>, ApiError> {
        let tx = school_tx(&session, &app, &tenant, &ORDER_PAY).await?;
        let ip = client_info(req).ip;
        Ok(Json(
            service::pay_order(app.0, &session.0, tx, OrderId(id.0), body.0.channel, ip).await?,
        ))
    }

    /// 家长：取消待支付的订单
    ///
    /// 先在微信支付关单，之后无法再付这笔订单；名额仍保留到截止时间，可重新下单支付或取消报名。
    #[oai(
        path = "/school/payments/orders/:id/cancel",
        method = "post",
        operation_id = "payment_order_cancel"
    )]
    async fn cancel_order(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<OrderView>, ApiError> {
        let tx = school_tx(&session, &app, &tenant, &ORDER_CANCEL).await?;
        Ok(Json(
            service::cancel_order(app.0, &session.0, tx, OrderId(id.0)).await?,
        ))
    }

    /// 家长：我在本校的订单与退款进度
    #[oai(
        path = "/school/payments/orders/mine",
        method = "get",
        operation_id = "payment_orders_mine"
    )]
    async fn my_orders(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<OrderView>>, ApiError> {
        let t = authorize_tenant(app.0, &session.0, tenant.0, &ORDERS_MINE).await?;
        Ok(Json(service::my_orders(app.0, &session.0, t).await?))
    }

    /// 学校管理员：本校订单（R-S08），可按状态筛选
    #[oai(
        path = "/school/payments/orders",
        method = "get",
        operation_id = "payment_orders_school"
    )]
    async fn school_orders(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// created 待支付 | paid 已支付 | closed 已关闭
        status: Query<Option<String>>,
    ) -> Result<Json<Vec<OrderView>>, ApiError> {
        let t = authorize_tenant(app.0, &session.0, tenant.0, &ORDERS_SCHOOL).await?;
        Ok(Json(
            service::school_orders(app.0, t, status.0.as_deref()).await?,
        ))
    }

    /// 学校管理员：为订单明细发起退款（R-S08），金额不超过尚未结算的部分
    #[oai(
        path = "/school/payments/refunds",
        method = "post",
        operation_id = "payment_refund_create"
    )]
    async fn refund(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewRefund>,
    ) -> Result<Json<RefundView>, ApiError> {
        let tx = school_tx(&session, &app, &tenant, &REFUND_CREATE).await?;
        Ok(Json(
            service::refund_line(app.0, &session.0, tx, body.0).await?,
        ))
    }

    /// 学校管理员：待退的停餐与停供（R-T13）
    ///
    /// 已批准停餐的供餐日、学校在订餐后停供的供餐日中还没有退的：条数、天数和应退总额，以及最近的退款批次与到账进度。
    #[oai(
        path = "/school/meals/refund-batches",
        method = "get",
        operation_id = "meal_refunds_due"
    )]
    async fn meal_refunds_due(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 订餐周期开始日期；不填为全部周期
        period_start: Query<Option<NaiveDate>>,
    ) -> Result<Json<crate::meals::model::RefundDueView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &MEAL_REFUNDS_DUE).await?;
        let who = session.actor(app.0);
        let out = crate::meals::service::refund_overview(&mut tx, &who, period_start.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 学校管理员：一键退款（R-T13、R-S08）
    ///
    /// 把待退的停餐和停供供餐日一次退给家长：每笔原支付一笔微信退款，金额为这些天的单价之和，记入存管账。重复发起不会重复退款；另一批正在处理时会被拒绝。
    #[oai(
        path = "/school/meals/refund-batches",
        method = "post",
        operation_id = "meal_refund_batch"
    )]
    async fn meal_refund_batch(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<crate::meals::model::NewRefundBatch>,
    ) -> Result<Json<crate::meals::model::MealRefundBatchView>, ApiError> {
        let tx = school_tx(&session, &app, &tenant, &MEAL_REFUND_BATCH).await?;
        Ok(Json(
            service::refund_meal_batch(app.0, &session.0, tx, body.0).await?,
        ))
    }

    /// 学校管理员：结算报表（R-S10），按课程、明细或日期统计实收、已结算、退款与存管余额
    #[oai(
        path = "/school/payments/settlement",
        method = "get",
        operation_id = "payment_settlement"
    )]
    async fn settlement(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 开始日期 YYYY-MM-DD（北京时间）
        from: Query<NaiveDate>,
        /// 结束日期 YYYY-MM-DD（含当日）
        to: Query<NaiveDate>,
        /// course 按课程（默认）| item 按明细 | day 按日
        group: Query<Option<Grouping>>,
    ) -> Result<Json<SettlementView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &SETTLEMENT).await?;
        let v = report::settlement(
            app.0,
            &mut tx,
            from.0,
            to.0,
            group.0.unwrap_or(Grouping::Course),
        )
        .await?;
        tx.commit().await?;
        Ok(Json(v))
    }

    /// 学校管理员：下载结算报表（.xlsx 或 .csv）
    #[oai(
        path = "/school/payments/settlement/download",
        method = "get",
        operation_id = "payment_settlement_download"
    )]
    // One parameter per query field: poem-openapi has no struct-valued query extractor.
    #[allow(clippy::too_many_arguments)]
    async fn settlement_download(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        from: Query<NaiveDate>,
        to: Query<NaiveDate>,
        group: Query<Option<Grouping>>,
        /// xlsx（默认）| csv
        format: Query<Option<FileFormat>>,
    ) -> Result<Attachment<Vec<u8>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &SETTLEMENT_FILE).await?;
        let school = tx.tenant().name.clone();
        let v = report::settlement(
            app.0,
            &mut tx,
            from.0,
            to.0,
            group.0.unwrap_or(Grouping::Course),
        )
        .await?;
        tx.commit().await?;
        let csv = format.0 == Some(FileFormat::Csv);
        let bytes = report::to_file(&v, &school, csv)?;
        let ext = if csv { "csv" } else { "xlsx" };
        Ok(Attachment::new(bytes)
            .attachment_type(AttachmentType::Attachment)
            .filename(format!("结算报表_{}_{}.{ext}", v.from, v.to)))
    }

    /// 家长：微信静默授权地址（JSAPI 支付前获取 openid）
    #[oai(
        path = "/payments/wechatpay/oauth-url",
        method = "get",
        operation_id = "wechat_oauth_url"
    )]
    async fn oauth_url(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 授权后回到的页面地址
        redirect_uri: Query<String>,
    ) -> Result<Json<OAuthUrl>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &OAUTH_URL).await?;
        let url = super::oauth::authorize_url(app.0, &session.0, &redirect_uri.0)?;
        Ok(Json(OAuthUrl { url }))
    }

    /// 家长：用微信回跳的 code 绑定 openid
    #[oai(
        path = "/payments/wechatpay/openid",
        method = "post",
        operation_id = "wechat_openid_bind"
    )]
    async fn bind_openid(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<OpenidBind>,
    ) -> Result<Json<OpenidBound>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &OAUTH_BIND).await?;
        super::oauth::bind(app.0, &session.0, &body.0.code, &body.0.state).await?;
        Ok(Json(OpenidBound { bound: true }))
    }

    /// 系统管理员：存管日终处理（一课一消/按天结算、微信结算入存管账户、银行对账），可重复执行
    #[oai(
        path = "/platform/escrow/days/:date/close",
        method = "post",
        operation_id = "escrow_day_close"
    )]
    async fn close_day(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 日期 YYYY-MM-DD（北京时间）
        date: Path<NaiveDate>,
    ) -> Result<Json<DayCloseView>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &DAY_CLOSE).await?;
        Ok(Json(super::daily::close_day(app.0, date.0).await?))
    }
}
