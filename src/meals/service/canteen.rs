//! The canteen's numbers (issue #16 item 6): for a serving day, how many meals of each item
//! per class, with the children whose allergies are recorded flagged (masked names), on
//! screen and as .xlsx. Final once the day's stop cut-off has passed.

use chrono::NaiveDate;

use super::{read_sealed_allergies, rules_and_calendar};
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::meals::error::MealError;
use crate::meals::model::*;
use crate::meals::periods::stop_deadline;
use crate::meals::repo;
use crate::tabular::{self, ColumnKind, SheetOut};

pub async fn counts(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    day: NaiveDate,
) -> Result<CanteenView, MealError> {
    let (rules, cal) = rules_and_calendar(tx).await?;
    let (served, note) = cal.day(day);
    let final_at = stop_deadline(&rules, day);
    let items = repo::items(tx.conn()).await?;
    let eaters = if served {
        repo::eaters_on(tx.conn(), day).await?
    } else {
        Vec::new()
    };
    let mut students: Vec<i64> = eaters.iter().map(|e| e.student_id).collect();
    students.sort_unstable();
    students.dedup();
    let sealed = repo::allergies_of(tx.conn(), &students).await?;
    let mut allergies = std::collections::HashMap::with_capacity(sealed.len());
    for (student, blob) in sealed {
        allergies.insert(student, read_sealed_allergies(who, student, &blob)?);
    }
    let mut out = Vec::new();
    for item in &items {
        let mine: Vec<&repo::EaterRow> = eaters.iter().filter(|e| e.item_id == item.id).collect();
        if mine.is_empty() {
            continue;
        }
        let mut classes: Vec<CanteenClass> = Vec::new();
        for e in &mine {
            if classes.last().is_none_or(|c| c.class_id != e.class_id) {
                classes.push(CanteenClass {
                    class_id: e.class_id,
                    class_name: e.class_name.clone(),
                    count: 0,
                    allergies: Vec::new(),
                });
            }
            let Some(c) = classes.last_mut() else {
                continue;
            };
            c.count += 1;
            if let Some(a) = allergies
                .get(&e.student_id)
                .filter(|a| !a.allergens.is_empty() || !a.note.is_empty())
            {
                c.allergies.push(AllergyFlag {
                    student: crate::pii::mask_name(&e.student_name),
                    allergens: a.allergens.iter().map(|x| x.label().to_string()).collect(),
                    note: a.note.clone(),
                    conflict: a
                        .allergens
                        .iter()
                        .any(|x| item.allergens.iter().any(|c| c == x.as_str())),
                });
            }
        }
        out.push(CanteenItem {
            item_id: item.id,
            name: item.name.clone(),
            kind_label: item.kind.label().into(),
            total: mine.len() as i32,
            classes,
        });
    }
    Ok(CanteenView {
        day,
        served,
        note,
        final_at,
        is_final: who.st.clock.now() >= final_at,
        total: out.iter().map(|i| i.total).sum(),
        items: out,
    })
}

/// The counts as an .xlsx workbook: one row per item and class, then the allergy list.
pub fn counts_file(v: &CanteenView, school: &str) -> Result<Vec<u8>, MealError> {
    let mut rows = Vec::new();
    let mut flags = Vec::new();
    for i in &v.items {
        for c in &i.classes {
            rows.push(vec![
                i.kind_label.clone(),
                i.name.clone(),
                c.class_name.clone(),
                c.count.to_string(),
                c.allergies.len().to_string(),
            ]);
            for a in &c.allergies {
                flags.push(vec![
                    i.name.clone(),
                    c.class_name.clone(),
                    a.student.clone(),
                    a.allergens.join("、"),
                    a.note.clone(),
                    if a.conflict { "是" } else { "否" }.to_string(),
                ]);
            }
        }
        rows.push(vec![
            i.kind_label.clone(),
            i.name.clone(),
            "合计".into(),
            i.total.to_string(),
            String::new(),
        ]);
    }
    let counts = SheetOut {
        name: "备餐数".into(),
        headers: ["餐别", "餐品", "班级", "份数", "过敏登记人数"]
            .map(String::from)
            .to_vec(),
        rows,
        widths: vec![10.0, 18.0, 14.0, 8.0, 14.0],
        kinds: vec![
            ColumnKind::Text,
            ColumnKind::Text,
            ColumnKind::Text,
            ColumnKind::Count,
            ColumnKind::Count,
        ],
    };
    let allergy = SheetOut {
        name: "过敏提示".into(),
        headers: [
            "餐品",
            "班级",
            "学生",
            "过敏原",
            "说明",
            "所订餐品含其过敏原",
        ]
        .map(String::from)
        .to_vec(),
        rows: flags,
        widths: vec![18.0, 14.0, 10.0, 24.0, 24.0, 18.0],
        kinds: vec![],
    };
    let notes = vec![format!(
        "{school} {} 备餐数{}",
        v.day,
        if v.is_final {
            "（已过停餐截止时间，为最终数）"
        } else {
            "（停餐截止前，数字仍可能变化）"
        }
    )];
    tabular::xlsx(&[counts, allergy], &notes)
        .map_err(|e| MealError::Invariant(format!("canteen workbook: {e}")))
}
