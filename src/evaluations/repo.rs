//! Evaluations' table (`tenant/school/0011_evaluations.sql`), run under the tenant role, and
//! the reads of enrollments, courses and guardians it needs.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EvaluationRow {
    pub id: i64,
    pub course_id: i64,
    pub student_id: i64,
    pub account_id: i64,
    pub score: i16,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str = "select id, course_id, student_id, account_id, score, content, created_at,
        updated_at from course_evaluations";

pub async fn is_guardian(c: &mut PgConnection, student: i64, account: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from student_guardians sg join guardians g on g.id = sg.guardian_id
                        join students s on s.id = sg.student_id
                        where sg.student_id = $1 and g.account_id = $2 and s.status = 'active')",
    )
    .bind(student)
    .bind(account)
    .fetch_one(&mut *c)
    .await
}

/// A course the child holds a confirmed place in.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttendedRow {
    pub course_id: i64,
    pub code: String,
    pub name: String,
    pub term_id: i64,
    pub term_name: String,
    pub teachers: Vec<String>,
}

pub async fn attended(c: &mut PgConnection, student: i64) -> sqlx::Result<Vec<AttendedRow>> {
    sqlx::query_as(
        "select c.id as course_id, c.code, c.name, c.term_id, t.name as term_name,
                coalesce((select array_agg(st.name order by st.name) from course_teachers ct
                          join staff st on st.id = ct.staff_id where ct.course_id = c.id),
                         '{}') as teachers
         from enrollments e
         join courses c on c.id = e.course_id
         join terms t on t.id = c.term_id
         where e.student_id = $1 and e.status = 'confirmed'
         order by c.starts_on, c.name, c.id",
    )
    .bind(student)
    .fetch_all(&mut *c)
    .await
}

pub async fn of_student(c: &mut PgConnection, student: i64) -> sqlx::Result<Vec<EvaluationRow>> {
    sqlx::query_as(&format!("{SELECT} where student_id = $1"))
        .bind(student)
        .fetch_all(&mut *c)
        .await
}

pub async fn lock(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<EvaluationRow>> {
    sqlx::query_as(&format!("{SELECT} where id = $1 for update"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

/// The new evaluation's id; `Err(existing id)` when the child rated the course this term.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    c: &mut PgConnection,
    course: i64,
    student: i64,
    term: i64,
    account: i64,
    score: i16,
    content: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Result<i64, i64>> {
    let id: Option<i64> = sqlx::query_scalar(
        "insert into course_evaluations (course_id, student_id, term_id, account_id, score,
                content, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $7)
         on conflict (course_id, student_id, term_id) do nothing returning id",
    )
    .bind(course)
    .bind(student)
    .bind(term)
    .bind(account)
    .bind(score)
    .bind(content)
    .bind(now)
    .fetch_optional(&mut *c)
    .await?;
    if let Some(id) = id {
        return Ok(Ok(id));
    }
    let existing = sqlx::query_scalar(
        "select id from course_evaluations where course_id = $1 and student_id = $2 and term_id = $3",
    )
    .bind(course)
    .bind(student)
    .bind(term)
    .fetch_one(&mut *c)
    .await?;
    Ok(Err(existing))
}

pub async fn update(
    c: &mut PgConnection,
    id: i64,
    score: i16,
    content: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update course_evaluations set score = $2, content = $3, updated_at = $4 where id = $1",
    )
    .bind(id)
    .bind(score)
    .bind(content)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The course's code (for the push's class number).
pub async fn course_code(c: &mut PgConnection, course: i64) -> sqlx::Result<String> {
    sqlx::query_scalar("select code from courses where id = $1")
        .bind(course)
        .fetch_one(&mut *c)
        .await
}

/// Per evaluated course: (id, name, teachers, count, average).
pub async fn course_scores(
    c: &mut PgConnection,
) -> sqlx::Result<Vec<(i64, String, Vec<String>, i64, Option<f64>)>> {
    sqlx::query_as(
        "select c.id, c.name,
                coalesce((select array_agg(st.name order by st.name) from course_teachers ct
                          join staff st on st.id = ct.staff_id where ct.course_id = c.id),
                         '{}'),
                count(v.id), round(avg(v.score), 1)::float8
         from courses c join course_evaluations v on v.course_id = c.id
         group by c.id order by c.name, c.id",
    )
    .fetch_all(&mut *c)
    .await
}

/// The latest comments with text of each course: (course, score, content, at), at most
/// `per` a course.
pub async fn comments(
    c: &mut PgConnection,
    per: i64,
) -> sqlx::Result<Vec<(i64, i16, String, DateTime<Utc>)>> {
    sqlx::query_as(
        "select course_id, score, content, updated_at from (
             select course_id, score, content, updated_at,
                    row_number() over (partition by course_id order by updated_at desc, id desc) as n
             from course_evaluations where content <> '') x
         where n <= $1 order by course_id, updated_at desc",
    )
    .bind(per)
    .fetch_all(&mut *c)
    .await
}

/// Per teacher of an evaluated course: (name, courses, count, average).
pub async fn teacher_scores(
    c: &mut PgConnection,
) -> sqlx::Result<Vec<(String, i64, i64, Option<f64>)>> {
    sqlx::query_as(
        "select st.name, count(distinct ct.course_id), count(v.id), round(avg(v.score), 1)::float8
         from course_teachers ct
         join staff st on st.id = ct.staff_id
         join course_evaluations v on v.course_id = ct.course_id
         group by st.id, st.name order by st.name, st.id",
    )
    .fetch_all(&mut *c)
    .await
}
