//! The school's settlement statement (R-S10): what families paid, what was released to the
//! school, refunded, and is still held in escrow, for a period, by course, by item (one
//! child's service) or by day. Every figure comes from the escrow ledger
//! ([`crate::ledger::tenant_statement`]), so the statement adds up to the ledger to the fen;
//! the downloads are the same rows as `.xlsx` or `.csv`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use poem_openapi::{Enum, Object};
use serde_json::json;

use super::repo;
use crate::clock::cst;
use crate::error::{ApiError, ErrorKind};
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::ledger::{self, LineStatement, Money, TenantId};
use crate::tabular::{self as write, ColumnKind, SheetOut};

/// Longest period of one statement; by day, at most this many rows.
const MAX_DAYS: i64 = 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Grouping {
    /// 按课程
    Course,
    /// 按明细（每个孩子的每项服务）
    Item,
    /// 按日
    Day,
}

/// One row of the statement (金额单位：元).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SettlementRow {
    /// 课程代码、明细编号或日期
    pub key: String,
    /// 课程名称、明细说明或日期
    pub name: String,
    /// 涉及的订单数
    pub orders: u32,
    pub paid: String,
    pub released: String,
    pub refunded: String,
    /// 已申请、尚未到账的退款
    pub refund_pending: String,
    /// 期末仍在存管账户的金额
    pub held: String,
}

/// 结算报表
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SettlementView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group: Grouping,
    pub rows: Vec<SettlementRow>,
    /// 合计（与存管账本一致）
    pub total: SettlementRow,
    /// 期末应付学校（已结算未划付）
    pub payable_at_end: String,
    /// 期内已划付学校
    pub paid_out: String,
}

#[derive(Default, Clone)]
struct Sums {
    orders: std::collections::BTreeSet<i64>,
    paid: Money,
    released: Money,
    refunded: Money,
    pending: Money,
    held: Money,
}

impl Sums {
    fn add(&mut self, l: &LineStatement) {
        let plus = |a: Money, b: Money| a.checked_add(b).unwrap_or(a);
        self.orders.insert(l.order_id.0);
        self.paid = plus(self.paid, l.paid);
        self.released = plus(self.released, l.released);
        self.refunded = plus(self.refunded, l.refunds_settled);
        let pending = l
            .refunds_reserved
            .saturating_sub(l.refunds_settled)
            .saturating_sub(l.refunds_cancelled);
        self.pending = plus(self.pending, pending);
        self.held = plus(self.held, l.held_at_end);
    }

    fn row(&self, key: String, name: String) -> SettlementRow {
        SettlementRow {
            key,
            name,
            orders: u32::try_from(self.orders.len()).unwrap_or(u32::MAX),
            paid: self.paid.to_string(),
            released: self.released.to_string(),
            refunded: self.refunded.to_string(),
            refund_pending: self.pending.to_string(),
            held: self.held.to_string(),
        }
    }
}

fn bounds(from: NaiveDate, to: NaiveDate) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    if to < from || (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::new(
            ErrorKind::Unprocessable,
            "REPORT_PERIOD_INVALID",
            format!("统计期间须为开始日期不晚于结束日期、最长 {MAX_DAYS} 天"),
            json!({ "from": from, "to": to }),
        ));
    }
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| cst().from_local_datetime(&t).single())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| ApiError::internal("date out of range"))
    };
    Ok((start(from)?, start(to + Duration::days(1))?))
}

/// The statement of the tenant `tx` acts in.
pub async fn settlement(
    st: &Ctx,
    tx: &mut TenantTx,
    from: NaiveDate,
    to: NaiveDate,
    group: Grouping,
) -> Result<SettlementView, ApiError> {
    let (start, end) = bounds(from, to)?;
    let tenant = TenantId(tx.tenant().id);
    let course_names: BTreeMap<i64, (String, String)> = repo::course_names(tx.conn())
        .await?
        .into_iter()
        .map(|(id, code, name)| (id, (code, name)))
        .collect();
    tx.leave_role().await?;
    let ledger_err = |e: ledger::LedgerError| ApiError::from_domain(&e);
    let whole = ledger::tenant_statement(tx.conn(), tenant, start, end)
        .await
        .map_err(ledger_err)?;
    let line_ids: Vec<i64> = whole.lines.iter().map(|l| l.line_id.0).collect();
    let lines: BTreeMap<i64, repo::LineRow> = repo::lines_by_id(tx.conn(), &line_ids)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();

    let mut total = Sums::default();
    for l in &whole.lines {
        total.add(l);
    }
    let mut rows = Vec::new();
    match group {
        Grouping::Course => {
            let mut by: BTreeMap<i64, Sums> = BTreeMap::new();
            for l in &whole.lines {
                let course = lines.get(&l.line_id.0).map_or(0, |r| r.course_id);
                by.entry(course).or_default().add(l);
            }
            for (course, sums) in by {
                let (code, name) = course_names
                    .get(&course)
                    .cloned()
                    .unwrap_or_else(|| (course.to_string(), "（已删除的课程）".into()));
                rows.push(sums.row(code, name));
            }
        }
        Grouping::Item => {
            for l in &whole.lines {
                let mut s = Sums::default();
                s.add(l);
                let name = lines
                    .get(&l.line_id.0)
                    .map_or_else(String::new, |r| r.description.clone());
                rows.push(s.row(format!("{}-{}", l.order_id.0, l.line_id.0), name));
            }
        }
        Grouping::Day => {
            let mut d = from;
            while d <= to {
                let (s0, s1) = bounds(d, d)?;
                let day = ledger::tenant_statement(tx.conn(), tenant, s0, s1)
                    .await
                    .map_err(ledger_err)?;
                let mut s = Sums::default();
                for l in &day.lines {
                    s.add(l);
                }
                rows.push(s.row(d.to_string(), d.format("%Y年%m月%d日").to_string()));
                d += Duration::days(1);
            }
        }
    }
    tx.enter_role().await?;
    let _ = st;
    Ok(SettlementView {
        from,
        to,
        group,
        rows,
        total: total.row("total".into(), "合计".into()),
        payable_at_end: whole.totals.payable_at_end.to_string(),
        paid_out: whole.totals.paid_out.to_string(),
    })
}

impl Grouping {
    /// Whether a row's key means something to a reader: an item's number names a line of
    /// an order, where a course code or a date only repeats the row's name in code form.
    pub fn shows_key(self) -> bool {
        matches!(self, Grouping::Item)
    }

    /// The heading of the key column, when it is shown.
    pub fn key_header(self) -> &'static str {
        "明细编号"
    }

    /// The heading of the name column.
    pub fn name_header(self) -> &'static str {
        match self {
            Grouping::Course => "课程",
            Grouping::Item => "明细",
            Grouping::Day => "日期",
        }
    }
}

/// The headings of the amount columns, after the key and the name.
const FIGURES: [&str; 6] = [
    "订单数",
    "实收（元）",
    "已结算（元）",
    "已退款（元）",
    "退款中（元）",
    "存管中（元）",
];

/// A row as the files show it: the key only where it means something (never the totals
/// row's marker), then the name and the figures.
fn cells(group: Grouping, r: &SettlementRow, total: bool) -> Vec<String> {
    let key = group
        .shows_key()
        .then(|| if total { String::new() } else { r.key.clone() });
    key.into_iter()
        .chain([
            r.name.clone(),
            r.orders.to_string(),
            r.paid.clone(),
            r.released.clone(),
            r.refunded.clone(),
            r.refund_pending.clone(),
            r.held.clone(),
        ])
        .collect()
}

/// The statement as a file: `.xlsx` (one sheet plus notes) or `.csv`.
pub fn to_file(v: &SettlementView, school: &str, csv: bool) -> Result<Vec<u8>, ApiError> {
    let g = v.group;
    let key = g.shows_key().then_some(g.key_header());
    let headers: Vec<String> = key
        .into_iter()
        .chain([g.name_header()])
        .chain(FIGURES)
        .map(str::to_string)
        .collect();
    let mut rows: Vec<Vec<String>> = v.rows.iter().map(|r| cells(g, r, false)).collect();
    rows.push(cells(g, &v.total, true));
    if csv {
        return Ok(write::csv(&headers, &rows));
    }
    let notes = vec![
        format!(
            "{school} 结算报表，统计期间 {} 至 {}（北京时间）",
            v.from, v.to
        ),
        "金额来自平台存管账本，合计与账本一致，精确到分。".to_string(),
        format!(
            "期末应付学校（已结算未划付）{} 元；期内已划付 {} 元。",
            v.payable_at_end, v.paid_out
        ),
    ];
    write::xlsx(
        &[SheetOut {
            name: "结算报表".into(),
            headers,
            rows,
            widths: key
                .map(|_| 18.0)
                .into_iter()
                .chain([30.0, 8.0, 14.0, 14.0, 14.0, 14.0, 14.0])
                .collect(),
            kinds: key
                .map(|_| ColumnKind::Text)
                .into_iter()
                .chain([ColumnKind::Text, ColumnKind::Count])
                .chain([ColumnKind::Money; 5])
                .collect(),
        }],
        &notes,
    )
    .map_err(ApiError::internal)
}
