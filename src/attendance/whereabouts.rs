//! Where every child is today (R-T08): for each child of the caller's classes (a homeroom
//! teacher) or the school (an admin), today's sessions with the time, the place, the
//! teachers and the attendance mark; a child with nothing booked says so.

use chrono::{Datelike, NaiveDate};

use super::error::AttendanceError;
use super::model::*;
use super::repo::{self, CourseRow};
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::people::service as people;

pub async fn whereabouts(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    day: Option<NaiveDate>,
    class: Option<i64>,
) -> Result<Whereabouts, AttendanceError> {
    let day = day.unwrap_or_else(|| who.st.clock.today());
    let scope = people::scope(who.st, who.auth, tx).await?;
    let classes: Option<Vec<i64>> = match (class, scope.classes()) {
        (Some(c), _) if !scope.covers(c) => {
            return Err(AttendanceError::ClassNotFound { id: c });
        }
        (Some(c), _) => Some(vec![c]),
        (None, s) => s.map(<[i64]>::to_vec),
    };
    let weekday = day.weekday().number_from_monday() as i16;
    let cals = crate::enrollment::staff::calendars(tx).await?;
    let courses: Vec<CourseRow> = repo::courses_on(tx.conn(), day, weekday, None)
        .await?
        .into_iter()
        .filter(|c| {
            cals.iter()
                .find(|(t, _)| *t == c.term_id)
                .is_some_and(|(_, cal)| crate::enrollment::staff::session_runs(cal, day))
        })
        .collect();
    let ids: Vec<i64> = courses.iter().map(|c| c.id).collect();
    let rows = repo::whereabouts(tx.conn(), classes.as_deref(), &ids, day).await?;
    let mut children: Vec<ChildWhereabouts> = Vec::new();
    for r in rows {
        if children.last().is_none_or(|c| c.student_id != r.student_id) {
            children.push(ChildWhereabouts {
                student_id: r.student_id,
                name: r.name.clone(),
                class_id: r.class_id,
                class_name: r.class_name.clone(),
                sessions: Vec::new(),
            });
        }
        let Some(c) = r
            .course_id
            .and_then(|id| courses.iter().find(|c| c.id == id))
        else {
            continue;
        };
        if let Some(child) = children.last_mut() {
            child.sessions.push(ChildSession {
                course_id: c.id,
                name: c.name.clone(),
                time: format!(
                    "{}–{}",
                    c.starts_at.format("%H:%M"),
                    c.ends_at.format("%H:%M")
                ),
                venue: c.venue.clone(),
                teachers: c.teachers.clone(),
                mark: r.mark,
                mark_label: r.mark.map_or("未点名", Mark::label).to_string(),
            });
        }
    }
    for c in &mut children {
        c.sessions
            .sort_by(|a, b| (&a.time, &a.name).cmp(&(&b.time, &b.name)));
    }
    Ok(Whereabouts {
        day,
        with_sessions: children.iter().filter(|c| !c.sessions.is_empty()).count() as i64,
        absent: children
            .iter()
            .filter(|c| c.sessions.iter().any(|s| s.mark == Some(Mark::Absent)))
            .count() as i64,
        children,
    })
}
