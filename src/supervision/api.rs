//! The receiver simulator's JSON endpoints for operators (the inbox page calls the same
//! functions): what it holds, and its fault control.

use chrono::{DateTime, Utc};
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::json;

use super::model::FieldSet;
use super::perms::{SIM_FAULT, SIM_INBOX};
use super::sim::{self, Fault};
use crate::auth::guard::{authorize, Session};
use crate::error::{ApiError, ErrorKind};
use crate::http::handler::{ApiTags, AppData, RequestTenant};

#[derive(Debug, Object)]
pub struct SetCount {
    /// F1 … F6
    pub field_set: String,
    pub label: String,
    pub records: i64,
    pub deleted: i64,
}

#[derive(Debug, Object)]
pub struct SimRecordView {
    pub field_set: String,
    pub record_id: String,
    /// upsert | delete
    pub op: String,
    pub version: i64,
    /// 记录内容（个人信息字段为 SM4 密文，与接收时相同）
    pub body: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct SupervisionSimView {
    /// none | refuse | timeout | slow | drop
    pub fault: String,
    pub fault_label: String,
    pub delay_ms: u64,
    pub messages: i64,
    pub duplicates: i64,
    pub out_of_order: i64,
    pub refused: i64,
    pub rejected: i64,
    pub sets: Vec<SetCount>,
    /// 最新的记录（最多 100 条）
    pub records: Vec<SimRecordView>,
    /// 模拟器的 SM2 公钥（对接方用于验签应答）
    pub public_key: String,
}

#[derive(Debug, Object)]
pub struct FaultRequest {
    /// none | refuse | timeout | slow | drop
    pub fault: String,
    /// 应答缓慢或超时的延迟（毫秒，0–120000）
    #[oai(default)]
    pub delay_ms: u64,
}

fn no_simulator() -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        "SIMULATOR_ABSENT",
        "当前为正式模式，没有监管平台模拟器",
        json!({}),
    )
}

pub struct SupervisionApi;

#[OpenApi(tag = "ApiTags::Platform")]
impl SupervisionApi {
    /// 市监管平台模拟器：收到的记录与计数
    #[oai(
        path = "/platform/simulators/supervision",
        method = "get",
        operation_id = "platform_supervision_sim"
    )]
    async fn inbox(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        field_set: Query<Option<String>>,
    ) -> Result<Json<SupervisionSimView>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &SIM_INBOX).await?;
        let receiver = app.0.supervision.sim.clone().ok_or_else(no_simulator)?;
        let set = match field_set.0.as_deref() {
            None | Some("") => None,
            Some(s) => Some(FieldSet::parse(s).ok_or_else(|| {
                ApiError::new(
                    ErrorKind::Unprocessable,
                    "FIELD_SET_INVALID",
                    "字段集应为 F1 至 F6",
                    json!({ "field_set": s }),
                )
            })?),
        };
        let c = sim::counters(&app.0.db_app)
            .await
            .map_err(ApiError::internal)?;
        let records = sim::records(&app.0.db_app, set.map(FieldSet::as_str), 100)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(SupervisionSimView {
            fault: c.fault.as_str().into(),
            fault_label: c.fault.label().into(),
            delay_ms: c.delay_ms,
            messages: c.messages,
            duplicates: c.duplicates,
            out_of_order: c.out_of_order,
            refused: c.refused,
            rejected: c.rejected,
            sets: c
                .by_set
                .into_iter()
                .map(|(s, records, deleted)| SetCount {
                    label: FieldSet::parse(&s)
                        .map(FieldSet::label)
                        .unwrap_or("")
                        .into(),
                    field_set: s,
                    records,
                    deleted,
                })
                .collect(),
            records: records
                .into_iter()
                .map(|r| SimRecordView {
                    field_set: r.field_set,
                    record_id: r.record_id,
                    op: r.op,
                    version: r.version,
                    body: r.body,
                    updated_at: r.updated_at,
                })
                .collect(),
            public_key: receiver.public_hex(),
        }))
    }

    /// 设置模拟器的故障模式（记入审计日志）
    #[oai(
        path = "/platform/simulators/supervision/fault",
        method = "put",
        operation_id = "platform_supervision_sim_fault"
    )]
    async fn fault(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<FaultRequest>,
    ) -> Result<Json<serde_json::Value>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &SIM_FAULT).await?;
        app.0.supervision.sim.as_ref().ok_or_else(no_simulator)?;
        let fault = Fault::parse(&body.0.fault).ok_or_else(|| {
            ApiError::new(
                ErrorKind::Unprocessable,
                "SIM_FAULT_INVALID",
                "故障模式应为 none、refuse、timeout、slow 或 drop",
                json!({ "fault": body.0.fault }),
            )
        })?;
        if body.0.delay_ms > 120_000 {
            return Err(ApiError::new(
                ErrorKind::Unprocessable,
                "SIM_DELAY_INVALID",
                "延迟应在 0 至 120000 毫秒之间",
                json!({ "delay_ms": body.0.delay_ms }),
            ));
        }
        super::pages::apply_fault(app.0, &session.0, fault, body.0.delay_ms)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(
            json!({ "fault": fault.as_str(), "delay_ms": body.0.delay_ms }),
        ))
    }
}
