//! Grades and classes (R-S02): the list of grades with their classes, and creating,
//! renaming and deleting either. A class has a system name, an alias teachers and parents
//! see, and optionally a home classroom (a venue).
//!
//! Must never delete a grade that still has classes (graduated ones included) or a class
//! that still has students, and never give two grades one level (promotion relies on it).

use std::collections::HashMap;

use poem_openapi::types::MaybeUndefined;
use serde_json::{json, Map, Value};

use super::{note_change, record, sent};
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::school::error::SchoolError;
use crate::school::model::{
    ClassPatch, ClassView, Code, GradePatch, GradeRow, GradeView, Name, NewClass, NewGrade,
    VenueView, LEVELS,
};
use crate::school::repo;

/// Every grade with its active classes (and graduated ones when `include_graduated`).
pub async fn grades_with_classes(
    tx: &mut TenantTx,
    include_graduated: bool,
) -> Result<Vec<GradeView>, SchoolError> {
    let grades = repo::grades(tx.conn()).await?;
    let mut by_grade: HashMap<i64, Vec<_>> = HashMap::new();
    for c in repo::classes(tx.conn(), include_graduated).await? {
        by_grade.entry(c.grade_id).or_default().push(c);
    }
    Ok(grades
        .into_iter()
        .map(|g| GradeView {
            classes: by_grade.remove(&g.id).unwrap_or_default(),
            id: g.id,
            code: g.code,
            name: g.name,
            level: g.level,
        })
        .collect())
}

// --- grades -----------------------------------------------------------------------------

async fn grade_view(tx: &mut TenantTx, g: GradeRow) -> Result<GradeView, SchoolError> {
    let classes = repo::classes(tx.conn(), false)
        .await?
        .into_iter()
        .filter(|c| c.grade_id == g.id)
        .collect();
    Ok(GradeView {
        id: g.id,
        code: g.code,
        name: g.name,
        level: g.level,
        classes,
    })
}

pub async fn create_grade(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewGrade,
) -> Result<GradeView, SchoolError> {
    let code = Code::parse_field("code", &req.code)?;
    let name = Name::parse_field("name", &req.name)?;
    if !LEVELS.contains(&req.level) {
        return Err(SchoolError::LevelInvalid { level: req.level });
    }
    // Promotion moves a class to the grade of the next level: two grades of one level
    // would make that ambiguous.
    if let Some(other) = repo::grade_with_level(tx.conn(), req.level).await? {
        return Err(SchoolError::GradeLevelTaken {
            level: req.level,
            grade: other,
        });
    }
    let g = repo::insert_grade(tx.conn(), code.as_str(), name.as_str(), req.level)
        .await
        .map_err(|e| {
            SchoolError::on_constraint(e, &["grades_code_key"], || SchoolError::GradeCodeTaken {
                code: code.as_str().to_string(),
            })
        })?;
    record(
        tx,
        who,
        "school.grade.create",
        format!("grade:{}", g.id),
        json!({ "code": g.code, "name": g.name, "level": g.level }),
    )
    .await?;
    Ok(GradeView {
        id: g.id,
        code: g.code,
        name: g.name,
        level: g.level,
        classes: Vec::new(),
    })
}

pub async fn update_grade(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    req: GradePatch,
) -> Result<GradeView, SchoolError> {
    let name = Name::parse_field("name", &req.name)?;
    let mut g = repo::grade(tx.conn(), id)
        .await?
        .ok_or(SchoolError::GradeNotFound { id })?;
    if g.name != name.as_str() {
        repo::rename_grade(tx.conn(), id, name.as_str()).await?;
        record(
            tx,
            who,
            "school.grade.update",
            format!("grade:{id}"),
            json!({ "code": g.code, "name": { "from": g.name, "to": name.as_str() } }),
        )
        .await?;
        g.name = name.as_str().to_string();
    }
    grade_view(tx, g).await
}

pub async fn delete_grade(tx: &mut TenantTx, who: &Actor<'_>, id: i64) -> Result<(), SchoolError> {
    let g = repo::grade(tx.conn(), id)
        .await?
        .ok_or(SchoolError::GradeNotFound { id })?;
    let has_classes = |classes: i64| SchoolError::GradeHasClasses {
        grade: g.name.clone(),
        classes,
    };
    let n = repo::count_classes_in_grade(tx.conn(), id).await?;
    if n > 0 {
        return Err(has_classes(n));
    }
    repo::delete_grade(tx.conn(), id).await.map_err(|e| {
        SchoolError::on_constraint(e, &["classes_grade_id_fkey"], || has_classes(0))
    })?;
    record(
        tx,
        who,
        "school.grade.delete",
        format!("grade:{id}"),
        json!({ "code": g.code, "name": g.name, "level": g.level }),
    )
    .await
}

// --- classes ----------------------------------------------------------------------------

/// The venue a class names as its home classroom must exist.
async fn require_venue(tx: &mut TenantTx, id: i64) -> Result<VenueView, SchoolError> {
    repo::venue(tx.conn(), id)
        .await?
        .ok_or(SchoolError::ChosenVenueMissing { id })
}

async fn class_view(tx: &mut TenantTx, id: i64) -> Result<ClassView, SchoolError> {
    repo::class_view(tx.conn(), id)
        .await?
        .ok_or(SchoolError::ClassNotFound { id })
}

pub async fn create_class(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewClass,
) -> Result<ClassView, SchoolError> {
    let code = Code::parse_field("code", &req.code)?;
    let name = Name::parse_field("name", &req.name)?;
    let alias = match req.alias.as_deref() {
        Some(a) => Name::parse_alias(a)?,
        None => None,
    };
    let grade = repo::grade(tx.conn(), req.grade_id)
        .await?
        .ok_or(SchoolError::ChosenGradeMissing { id: req.grade_id })?;
    if let Some(v) = req.venue_id {
        require_venue(tx, v).await?;
    }
    let alias = alias.as_ref().map(Name::as_str);
    let id = repo::insert_class(
        tx.conn(),
        grade.id,
        code.as_str(),
        name.as_str(),
        alias,
        req.venue_id,
    )
    .await
    .map_err(|e| {
        SchoolError::on_constraint(e, &["classes_code_key"], || SchoolError::ClassCodeTaken {
            code: code.as_str().to_string(),
        })
    })?;
    record(
        tx,
        who,
        "school.class.create",
        format!("class:{id}"),
        json!({
            "code": code.as_str(), "name": name.as_str(), "alias": alias,
            "grade": grade.code, "venue_id": req.venue_id,
        }),
    )
    .await?;
    class_view(tx, id).await
}

pub async fn update_class(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    req: ClassPatch,
) -> Result<ClassView, SchoolError> {
    let cur = repo::class_row(tx.conn(), id)
        .await?
        .ok_or(SchoolError::ClassNotFound { id })?;
    let name = sent(req.name.as_deref(), |n| Name::parse_field("name", n))?;
    let name = name.as_ref().map_or(cur.name.as_str(), Name::as_str);
    let alias = match &req.alias {
        MaybeUndefined::Undefined => cur.alias.clone(),
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(a) => Name::parse_alias(a)?.map(|a| a.as_str().to_string()),
    };
    let venue_id = match req.venue_id {
        MaybeUndefined::Undefined => cur.venue_id,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(v) => Some(require_venue(tx, v).await?.id),
    };
    let mut changes = Map::new();
    note_change(&mut changes, "name", cur.name.as_str(), name);
    note_change(&mut changes, "alias", &cur.alias, &alias);
    note_change(&mut changes, "venue_id", &cur.venue_id, &venue_id);
    if !changes.is_empty() {
        repo::update_class(tx.conn(), id, name, alias.as_deref(), venue_id).await?;
        changes.insert("code".into(), json!(cur.code));
        record(
            tx,
            who,
            "school.class.update",
            format!("class:{id}"),
            Value::Object(changes),
        )
        .await?;
    }
    class_view(tx, id).await
}

pub async fn delete_class(tx: &mut TenantTx, who: &Actor<'_>, id: i64) -> Result<(), SchoolError> {
    let cur = repo::class_row(tx.conn(), id)
        .await?
        .ok_or(SchoolError::ClassNotFound { id })?;
    let n = repo::count_students_in_class(tx.conn(), id).await?;
    if n > 0 {
        return Err(SchoolError::ClassHasStudents {
            class: cur.name,
            students: n,
        });
    }
    repo::delete_class(tx.conn(), id).await.map_err(|e| {
        SchoolError::on_constraint(e, &["students_class_id_fkey"], || SchoolError::ClassInUse {
            class: cur.name.clone(),
        })
    })?;
    record(
        tx,
        who,
        "school.class.delete",
        format!("class:{id}"),
        json!({ "code": cur.code, "name": cur.name, "alias": cur.alias }),
    )
    .await
}
