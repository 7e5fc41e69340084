//! The school's settlement statement (R-S10): what families paid, what was released to the
//! school, refunded, and is still held in escrow, for a period, by course, by item (one
//! child's service) or by day. Every figure comes from the escrow ledger
//! ([`crate::ledger::tenant_statement`]), so the statement adds up to the ledger to the fen;
//! the downloads are the same rows as `.xlsx` or `.csv`. Must never take a figure from
//! anywhere but the ledger, nor change anything.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::daily::day_bounds;
use super::error::PaymentsError;
use super::model::{Grouping, SettlementRow, SettlementView};
use super::repo;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::ledger::{self, LineId, LineStatement, Money, TenantId};
use crate::tabular::{self as write, ColumnKind, SheetOut};

/// Longest period of one statement; by day, at most this many rows.
pub(super) const MAX_DAYS: i64 = 366;

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

/// The instants `from`'s start and `to`'s end (Beijing days), for a period of at most
/// [`MAX_DAYS`].
fn bounds(from: NaiveDate, to: NaiveDate) -> Result<(DateTime<Utc>, DateTime<Utc>), PaymentsError> {
    if to < from || (to - from).num_days() >= MAX_DAYS {
        return Err(PaymentsError::ReportPeriodInvalid { from, to });
    }
    Ok((day_bounds(from)?.0, day_bounds(to)?.1))
}

/// The statement of the tenant `tx` acts in.
pub async fn settlement(
    st: &Ctx,
    tx: &mut TenantTx,
    from: NaiveDate,
    to: NaiveDate,
    group: Grouping,
) -> Result<SettlementView, PaymentsError> {
    let (start, end) = bounds(from, to)?;
    let tenant = TenantId(tx.tenant().id);
    let course_names: BTreeMap<i64, (String, String)> = repo::course_names(tx.conn())
        .await?
        .into_iter()
        .map(|(id, code, name)| (id, (code, name)))
        .collect();
    tx.leave_role().await?;
    let whole = ledger::tenant_statement(tx.conn(), tenant, start, end).await?;
    let line_ids: Vec<LineId> = whole.lines.iter().map(|l| l.line_id).collect();
    let lines: BTreeMap<LineId, repo::LineRow> = repo::lines_by_id(tx.conn(), &line_ids)
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
            // Courses by id, then meals by item or package (R-S10's meal half).
            let meal_ids: Vec<i64> = lines.values().filter_map(|l| l.meal_order_id).collect();
            tx.enter_role().await?;
            let meals: BTreeMap<i64, (String, String)> =
                crate::meals::paid::offer_names(tx.conn(), &meal_ids)
                    .await?
                    .into_iter()
                    .map(|(id, code, name)| (id, (code, name)))
                    .collect();
            tx.leave_role().await?;
            let mut by: BTreeMap<(bool, String), (String, String, Sums)> = BTreeMap::new();
            for l in &whole.lines {
                let row = lines.get(&l.line_id);
                let (key, code, name) = match row.and_then(|r| r.meal_order_id) {
                    Some(m) => {
                        let (code, name) = meals
                            .get(&m)
                            .cloned()
                            .unwrap_or_else(|| ("meal".into(), "订餐".into()));
                        ((true, code.clone()), code, name)
                    }
                    None => {
                        let course = row.and_then(|r| r.course_id).map_or(0, |c| c.0);
                        let (code, name) = course_names
                            .get(&course)
                            .cloned()
                            .unwrap_or_else(|| (course.to_string(), "（已删除的课程）".into()));
                        ((false, format!("{course:012}")), code, name)
                    }
                };
                by.entry(key)
                    .or_insert_with(|| (code, name, Sums::default()))
                    .2
                    .add(l);
            }
            for (_, (code, name, sums)) in by {
                rows.push(sums.row(code, name));
            }
        }
        Grouping::Item => {
            for l in &whole.lines {
                let mut s = Sums::default();
                s.add(l);
                let name = lines
                    .get(&l.line_id)
                    .map_or_else(String::new, |r| r.description.clone());
                rows.push(s.row(format!("{}-{}", l.order_id.0, l.line_id.0), name));
            }
        }
        Grouping::Day => {
            let mut d = from;
            while d <= to {
                let (s0, s1) = bounds(d, d)?;
                let day = ledger::tenant_statement(tx.conn(), tenant, s0, s1).await?;
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
pub fn to_file(v: &SettlementView, school: &str, csv: bool) -> Result<Vec<u8>, PaymentsError> {
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
    .map_err(PaymentsError::from)
}
