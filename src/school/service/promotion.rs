//! The yearly promotion (学年升级, R-S02): every active class moves up to the grade of the
//! next higher level, its code and name prefixes renamed (g3c2 → g4c2, 三年级2班 →
//! 四年级2班, alias kept); the classes of the highest grade graduate under
//! `<code>@<year>` with their active students. Planned first (a dry run stops there), so a
//! plan whose codes would collide is refused before anything is written.
//!
//! Must never promote one school year twice, or a year earlier than the latest one.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::record;
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::school::error::SchoolError;
use crate::school::model::{
    parse_date, ClassRow, GradeRow, PromoteRequest, PromotionResult, PromotionStep,
    PromotionSummary, SCHOOL_YEARS,
};
use crate::school::repo;

/// One class's part in a promotion.
#[derive(Debug, Clone)]
struct Move {
    step: PromotionStep,
    /// None: the class graduates.
    to_grade_id: Option<i64>,
    from_level: i16,
}

/// `s` with its leading `old` replaced by `new`; unchanged when it does not start with `old`.
fn replace_prefix(s: &str, old: &str, new: &str) -> String {
    match s.strip_prefix(old) {
        Some(rest) if !old.is_empty() => format!("{new}{rest}"),
        _ => s.to_string(),
    }
}

/// What promotion does to every active class, highest grade first: the classes of the
/// highest grade graduate under `<code>@<year>`, the others move to the grade of the next
/// higher level with the grade's code and name prefixes renamed. Refuses plans whose codes
/// would collide (with each other or with graduated classes' codes).
fn plan_promotion(
    grades: &[GradeRow],
    classes: &[ClassRow],
    archived_codes: &[String],
    school_year: i16,
) -> Result<Vec<Move>, SchoolError> {
    let by_id: HashMap<i64, &GradeRow> = grades.iter().map(|g| (g.id, g)).collect();
    let mut moves = Vec::with_capacity(classes.len());
    for c in classes {
        let Some(from) = by_id.get(&c.grade_id) else {
            return Err(SchoolError::ClassWithoutGrade {
                class_id: c.id,
                grade_id: c.grade_id,
            });
        };
        let next_level = grades
            .iter()
            .map(|g| g.level)
            .filter(|l| *l > from.level)
            .min();
        let to = match next_level {
            None => None,
            Some(level) => {
                let at: Vec<&GradeRow> = grades.iter().filter(|g| g.level == level).collect();
                if at.len() > 1 {
                    return Err(SchoolError::GradeLevelAmbiguous {
                        level,
                        grades: at.iter().map(|g| g.code.clone()).collect(),
                    });
                }
                at.first().copied()
            }
        };
        let (new_code, new_name) = match to {
            Some(g) => (
                replace_prefix(&c.code, &from.code, &g.code),
                replace_prefix(&c.name, &from.name, &g.name),
            ),
            None => (format!("{}@{school_year}", c.code), c.name.clone()),
        };
        moves.push(Move {
            step: PromotionStep {
                class_id: c.id,
                code: c.code.clone(),
                new_code,
                name: c.name.clone(),
                new_name,
                alias: c.alias.clone(),
                from_grade: from.code.clone(),
                to_grade: to.map(|g| g.code.clone()),
                graduating: to.is_none(),
                graduating_students: 0,
            },
            to_grade_id: to.map(|g| g.id),
            from_level: from.level,
        });
    }
    moves.sort_by(|a, b| {
        b.from_level
            .cmp(&a.from_level)
            .then_with(|| a.step.code.cmp(&b.step.code))
    });
    let mut seen: HashSet<&str> = archived_codes.iter().map(String::as_str).collect();
    let clashes: Vec<&str> = moves
        .iter()
        .map(|m| m.step.new_code.as_str())
        .filter(|code| !seen.insert(code))
        .collect();
    if !clashes.is_empty() {
        return Err(SchoolError::PromotionCodeConflict {
            codes: clashes.into_iter().map(str::to_string).collect(),
        });
    }
    Ok(moves)
}

pub async fn promote(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: PromoteRequest,
) -> Result<PromotionResult, SchoolError> {
    let year = req.school_year;
    if !SCHOOL_YEARS.contains(&year) {
        return Err(SchoolError::SchoolYearInvalid { school_year: year });
    }
    let graduated_on = match req.graduation_date.as_deref() {
        Some(s) => parse_date("graduation_date", s)?,
        None => who.st.clock.today(),
    };
    match repo::latest_promotion(tx.conn()).await? {
        Some(last) if last == year => {
            return Err(SchoolError::AlreadyPromoted { school_year: year })
        }
        Some(last) if last > year => {
            return Err(SchoolError::PromotionOutOfOrder {
                school_year: year,
                latest: last,
            })
        }
        _ => {}
    }
    if !req.dry_run {
        repo::insert_promotion(tx.conn(), year, who.st.clock.now(), who.auth.account_id)
            .await
            .map_err(|e| {
                SchoolError::on_constraint(e, &["promotions_pkey"], || {
                    SchoolError::AlreadyPromoted { school_year: year }
                })
            })?;
    }
    let grades = repo::grades(tx.conn()).await?;
    let classes = repo::lock_active_classes(tx.conn()).await?;
    let archived = repo::inactive_class_codes(tx.conn()).await?;
    let mut moves = plan_promotion(&grades, &classes, &archived, year)?;

    let graduating: Vec<i64> = moves
        .iter()
        .filter(|m| m.step.graduating)
        .map(|m| m.step.class_id)
        .collect();
    let students: HashMap<i64, i64> = repo::active_students_by_class(tx.conn(), &graduating)
        .await?
        .into_iter()
        .collect();
    for m in moves.iter_mut().filter(|m| m.step.graduating) {
        m.step.graduating_students = students.get(&m.step.class_id).copied().unwrap_or(0);
    }
    let mut summary = PromotionSummary {
        school_year: year,
        promoted: moves.iter().filter(|m| !m.step.graduating).count() as i64,
        graduated_classes: graduating.len() as i64,
        graduated_students: students.values().sum(),
    };

    if !req.dry_run {
        // Highest grade first: each class takes codes the classes above it have just freed.
        for m in &moves {
            let s = &m.step;
            match m.to_grade_id {
                Some(g) => repo::move_class(tx.conn(), s.class_id, g, &s.new_code, &s.new_name)
                    .await
                    .map_err(|e| promotion_clash(e, &s.new_code))?,
                None => repo::graduate_class(tx.conn(), s.class_id, &s.new_code, graduated_on)
                    .await
                    .map_err(|e| promotion_clash(e, &s.new_code))?,
            }
        }
        summary.graduated_students =
            crate::people::graduation::graduate(tx.conn(), &graduating).await? as i64;
        let summary_json = json!({
            "promoted": summary.promoted,
            "graduated_classes": summary.graduated_classes,
            "graduated_students": summary.graduated_students,
        });
        repo::set_promotion_summary(tx.conn(), year, &summary_json).await?;
        let mut details = summary_json;
        details["school_year"] = json!(year);
        details["graduation_date"] = json!(graduated_on);
        record(
            tx,
            who,
            "school.class.promote",
            format!("promotion:{year}"),
            details,
        )
        .await?;
    }
    Ok(PromotionResult {
        dry_run: req.dry_run,
        summary,
        plan: moves.into_iter().map(|m| m.step).collect(),
    })
}

/// A class code another class took while this promotion ran.
fn promotion_clash(e: sqlx::Error, code: &str) -> SchoolError {
    SchoolError::on_constraint(e, &["classes_code_key"], || {
        SchoolError::PromotionCodeConflict {
            codes: vec![code.to_string()],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::school::model::ClassStatus;

    fn grade(id: i64, level: i16) -> GradeRow {
        let names = [
            "",
            "一年级",
            "二年级",
            "三年级",
            "四年级",
            "五年级",
            "六年级",
        ];
        GradeRow {
            id,
            code: format!("g{level}"),
            name: names[level as usize].to_string(),
            level,
        }
    }

    fn class(id: i64, grade_id: i64, code: &str, name: &str) -> ClassRow {
        ClassRow {
            id,
            grade_id,
            code: code.into(),
            name: name.into(),
            alias: Some("向日葵班".into()),
            status: ClassStatus::Active,
            venue_id: None,
        }
    }

    #[test]
    fn classes_move_up_with_renamed_prefixes_and_the_top_grade_graduates() {
        let grades = [grade(1, 1), grade(2, 2), grade(3, 3)];
        let classes = [
            class(10, 1, "g1c1", "一年级1班"),
            class(20, 2, "g2c1", "二年级1班"),
            class(30, 3, "g3c1", "三年级1班"),
            class(11, 1, "chorus", "合唱班"),
        ];

        let plan = plan_promotion(&grades, &classes, &[], 2027).unwrap();

        let steps: Vec<(&str, &str, &str, bool)> = plan
            .iter()
            .map(|m| {
                (
                    m.step.code.as_str(),
                    m.step.new_code.as_str(),
                    m.step.new_name.as_str(),
                    m.step.graduating,
                )
            })
            .collect();
        assert_eq!(
            steps,
            [
                ("g3c1", "g3c1@2027", "三年级1班", true),
                ("g2c1", "g3c1", "三年级1班", false),
                ("chorus", "chorus", "合唱班", false),
                ("g1c1", "g2c1", "二年级1班", false),
            ]
        );
        assert!(plan
            .iter()
            .all(|m| m.step.alias.as_deref() == Some("向日葵班")));
    }

    #[test]
    fn a_gap_in_levels_moves_to_the_next_existing_level() {
        let grades = [grade(1, 1), grade(3, 3)];
        let plan =
            plan_promotion(&grades, &[class(10, 1, "g1c1", "一年级1班")], &[], 2027).unwrap();
        assert_eq!(plan[0].to_grade_id, Some(3));
        assert_eq!(plan[0].step.new_code, "g3c1");
    }

    #[test]
    fn colliding_codes_are_refused_before_anything_is_written() {
        let grades = [grade(1, 1), grade(2, 2)];
        let classes = [class(30, 2, "g2c1", "二年级1班")];
        let err = plan_promotion(&grades, &classes, &["g2c1@2027".into()], 2027).unwrap_err();
        assert!(
            matches!(&err, SchoolError::PromotionCodeConflict { codes } if codes == &["g2c1@2027"]),
            "{err}"
        );
    }

    #[test]
    fn two_grades_on_the_next_level_are_ambiguous() {
        let mut twin = grade(3, 2);
        twin.code = "g2b".into();
        let grades = [grade(1, 1), grade(2, 2), twin];
        let err =
            plan_promotion(&grades, &[class(10, 1, "g1c1", "一年级1班")], &[], 2027).unwrap_err();
        assert!(
            matches!(err, SchoolError::GradeLevelAmbiguous { level: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn prefixes_are_replaced_only_at_the_start() {
        assert_eq!(replace_prefix("g3c2", "g3", "g4"), "g4c2");
        assert_eq!(replace_prefix("三年级2班", "三年级", "四年级"), "四年级2班");
        assert_eq!(replace_prefix("art-g3", "g3", "g4"), "art-g3");
        assert_eq!(replace_prefix("x", "", "g4"), "x");
    }
}
