//! Attendance's tables (`tenant/school/0010_attendance.sql`), run under the tenant role,
//! and the reads of courses, teachers, enrollments and guardians a session needs.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::PgConnection;

use super::model::Mark;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RulesRow {
    pub opens_before_min: i32,
    pub late_after_min: i32,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub radius_m: Option<i32>,
}

pub async fn rules(c: &mut PgConnection) -> sqlx::Result<RulesRow> {
    sqlx::query_as(
        "select opens_before_min, late_after_min, latitude::float8 as latitude,
                longitude::float8 as longitude, radius_m from attendance_rules",
    )
    .fetch_one(&mut *c)
    .await
}

pub async fn set_rules(c: &mut PgConnection, r: &RulesRow) -> sqlx::Result<()> {
    sqlx::query(
        "update attendance_rules set opens_before_min = $1, late_after_min = $2,
                latitude = $3, longitude = $4, radius_m = $5",
    )
    .bind(r.opens_before_min)
    .bind(r.late_after_min)
    .bind(r.latitude)
    .bind(r.longitude)
    .bind(r.radius_m)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// A course as a session needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CourseRow {
    pub id: i64,
    pub name: String,
    pub class_type: String,
    pub term_id: i64,
    pub weekdays: Vec<i16>,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub venue: Option<String>,
    pub teachers: Vec<String>,
}

const COURSE: &str = "select c.id, c.name, c.class_type, c.term_id, c.weekdays, c.starts_at,
        c.ends_at, c.starts_on, c.ends_on, v.name as venue,
        coalesce((select array_agg(st.name order by st.name) from course_teachers ct
                  join staff st on st.id = ct.staff_id where ct.course_id = c.id), '{}') as teachers
    from courses c
    left join venues v on v.id = c.venue_id
    where c.status in ('published', 'closed')
      and not exists (select 1 from courses sub where sub.parent_id = c.id)";

/// A published (or closed) course that holds sessions itself (no series parent).
pub async fn course(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<CourseRow>> {
    sqlx::query_as(&format!("{COURSE} and c.id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

/// The courses meeting on `day` (its ISO weekday) within their dates; only those an active
/// staff member with `phone_hash` teaches when given. By start time.
pub async fn courses_on(
    c: &mut PgConnection,
    day: NaiveDate,
    weekday: i16,
    phone_hash: Option<&[u8]>,
) -> sqlx::Result<Vec<CourseRow>> {
    sqlx::query_as(&format!(
        "{COURSE} and $2 = any(c.weekdays) and c.starts_on <= $1 and $1 <= c.ends_on
           and ($3::bytea is null or exists (
                 select 1 from course_teachers ct join staff st on st.id = ct.staff_id
                 where ct.course_id = c.id and st.phone_hash = $3 and st.status = 'active'))
         order by c.starts_at, c.name, c.id"
    ))
    .bind(day)
    .bind(weekday)
    .bind(phone_hash)
    .fetch_all(&mut *c)
    .await
}

/// The active staff member with this phone: (id, name).
pub async fn staff_by_phone(
    c: &mut PgConnection,
    phone_hash: &[u8],
) -> sqlx::Result<Option<(i64, String)>> {
    sqlx::query_as(
        "select id, name from staff where phone_hash = $1 and status = 'active' order by id limit 1",
    )
    .bind(phone_hash)
    .fetch_optional(&mut *c)
    .await
}

pub async fn teaches(c: &mut PgConnection, course: i64, staff: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from course_teachers where course_id = $1 and staff_id = $2)",
    )
    .bind(course)
    .bind(staff)
    .fetch_one(&mut *c)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckinRow {
    pub course_id: i64,
    pub teacher_name: String,
    pub checked_in_at: DateTime<Utc>,
    pub late: bool,
    pub distance_m: Option<i32>,
}

/// The check-in, unless the teacher checked in already (then `None`).
#[allow(clippy::too_many_arguments)]
pub async fn insert_checkin(
    c: &mut PgConnection,
    course: i64,
    day: NaiveDate,
    staff: i64,
    account: i64,
    at: DateTime<Utc>,
    late: bool,
    location: Option<(f64, f64)>,
    distance_m: Option<i32>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "insert into teacher_checkins (course_id, day, staff_id, account_id, checked_in_at, late,
                latitude, longitude, distance_m)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (course_id, day, staff_id) do nothing",
    )
    .bind(course)
    .bind(day)
    .bind(staff)
    .bind(account)
    .bind(at)
    .bind(late)
    .bind(location.map(|l| l.0))
    .bind(location.map(|l| l.1))
    .bind(distance_m)
    .execute(&mut *c)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// The check-ins of the courses on `day` (one teacher's only when `staff` is given).
pub async fn checkins(
    c: &mut PgConnection,
    courses: &[i64],
    day: NaiveDate,
    staff: Option<i64>,
) -> sqlx::Result<Vec<CheckinRow>> {
    sqlx::query_as(
        "select k.course_id, st.name as teacher_name, k.checked_in_at, k.late, k.distance_m
         from teacher_checkins k join staff st on st.id = k.staff_id
         where k.course_id = any($1) and k.day = $2 and ($3::bigint is null or k.staff_id = $3)
         order by k.checked_in_at",
    )
    .bind(courses)
    .bind(day)
    .bind(staff)
    .fetch_all(&mut *c)
    .await
}

/// The courses someone checked in to on `day`: the delivered sessions.
pub async fn delivered(c: &mut PgConnection, day: NaiveDate) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("select distinct course_id from teacher_checkins where day = $1")
        .bind(day)
        .fetch_all(&mut *c)
        .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RollRow {
    pub student_id: i64,
    pub name: String,
    pub class_id: i64,
    pub class_name: String,
    pub mark: Option<Mark>,
    pub abnormal: bool,
}

/// The children with a confirmed place in the course, with their mark of `day`; by class,
/// then name.
pub async fn roll(c: &mut PgConnection, course: i64, day: NaiveDate) -> sqlx::Result<Vec<RollRow>> {
    sqlx::query_as(
        "select s.id as student_id, s.name, s.class_id, cl.name as class_name, m.mark,
                coalesce(m.abnormal, false) as abnormal
         from enrollments e
         join students s on s.id = e.student_id
         join classes cl on cl.id = s.class_id
         left join attendance_marks m
                on m.course_id = e.course_id and m.day = $2 and m.student_id = s.id
         where e.course_id = $1 and e.status = 'confirmed'
         order by cl.name, s.name, s.id",
    )
    .bind(course)
    .bind(day)
    .fetch_all(&mut *c)
    .await
}

/// Per course on `day`: (course, expected, present, absent, marked).
pub async fn counts(
    c: &mut PgConnection,
    courses: &[i64],
    day: NaiveDate,
) -> sqlx::Result<Vec<(i64, i64, i64, i64, i64)>> {
    sqlx::query_as(
        "select e.course_id, count(*),
                count(*) filter (where m.mark in ('present', 'late', 'left_early')),
                count(*) filter (where m.mark = 'absent'),
                count(m.mark)
         from enrollments e
         left join attendance_marks m
                on m.course_id = e.course_id and m.day = $2 and m.student_id = e.student_id
         where e.course_id = any($1) and e.status = 'confirmed'
         group by e.course_id",
    )
    .bind(courses)
    .bind(day)
    .fetch_all(&mut *c)
    .await
}

/// Writes a mark; `true` when it is new or changed (an unchanged mark is left alone).
#[allow(clippy::too_many_arguments)]
pub async fn set_mark(
    c: &mut PgConnection,
    course: i64,
    day: NaiveDate,
    student: i64,
    mark: Mark,
    abnormal: bool,
    by: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "insert into attendance_marks (course_id, day, student_id, mark, abnormal, marked_by, marked_at)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (course_id, day, student_id) do update
            set mark = excluded.mark, abnormal = excluded.abnormal,
                marked_by = excluded.marked_by, marked_at = excluded.marked_at
          where attendance_marks.mark <> excluded.mark",
    )
    .bind(course)
    .bind(day)
    .bind(student)
    .bind(mark)
    .bind(abnormal)
    .bind(by)
    .bind(at)
    .execute(&mut *c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The accounts of the child's registered guardians.
pub async fn guardian_accounts(c: &mut PgConnection, student: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "select distinct g.account_id from student_guardians sg
         join guardians g on g.id = sg.guardian_id
         where sg.student_id = $1 and g.account_id is not null",
    )
    .bind(student)
    .fetch_all(&mut *c)
    .await
}

/// The phone hash of the class's active homeroom teacher.
pub async fn homeroom_phone(c: &mut PgConnection, class: i64) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar(
        "select s.phone_hash from class_homeroom h join staff s on s.id = h.staff_id
         where h.class_id = $1 and s.status = 'active'",
    )
    .bind(class)
    .fetch_optional(&mut *c)
    .await
}

/// The platform account with this phone (outside the tenant role).
pub async fn account_by_phone(c: &mut PgConnection, hash: &[u8]) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select id from platform.accounts where phone_hash = $1")
        .bind(hash)
        .fetch_optional(&mut *c)
        .await
}

/// (course, staff id, staff name) of the teachers of `courses`.
pub async fn course_teachers(
    c: &mut PgConnection,
    courses: &[i64],
) -> sqlx::Result<Vec<(i64, i64, String)>> {
    sqlx::query_as(
        "select ct.course_id, st.id, st.name from course_teachers ct
         join staff st on st.id = ct.staff_id where ct.course_id = any($1)",
    )
    .bind(courses)
    .fetch_all(&mut *c)
    .await
}

/// (course, day, staff, late) of the check-ins from `first` to `last`.
pub async fn checkins_between(
    c: &mut PgConnection,
    first: NaiveDate,
    last: NaiveDate,
) -> sqlx::Result<Vec<(i64, NaiveDate, i64, bool)>> {
    sqlx::query_as(
        "select course_id, day, staff_id, late from teacher_checkins
         where day between $1 and $2",
    )
    .bind(first)
    .bind(last)
    .fetch_all(&mut *c)
    .await
}

/// Every published or closed course that holds sessions, overlapping `first`..`last`.
pub async fn courses_between(
    c: &mut PgConnection,
    first: NaiveDate,
    last: NaiveDate,
) -> sqlx::Result<Vec<CourseRow>> {
    sqlx::query_as(&format!(
        "{COURSE} and c.starts_on <= $2 and $1 <= c.ends_on order by c.id"
    ))
    .bind(first)
    .bind(last)
    .fetch_all(&mut *c)
    .await
}

/// One row of the whereabouts: a child (of `classes`, all when `None`) with one of their
/// confirmed places among `courses` and its mark of `day` (no place: course `None`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WhereRow {
    pub student_id: i64,
    pub name: String,
    pub class_id: i64,
    pub class_name: String,
    pub course_id: Option<i64>,
    pub mark: Option<Mark>,
}

pub async fn whereabouts(
    c: &mut PgConnection,
    classes: Option<&[i64]>,
    courses: &[i64],
    day: NaiveDate,
) -> sqlx::Result<Vec<WhereRow>> {
    sqlx::query_as(
        "select s.id as student_id, s.name, s.class_id, cl.name as class_name, e.course_id, m.mark
         from students s
         join classes cl on cl.id = s.class_id
         left join enrollments e
                on e.student_id = s.id and e.status = 'confirmed' and e.course_id = any($2)
         left join attendance_marks m
                on m.course_id = e.course_id and m.day = $3 and m.student_id = s.id
         where s.status = 'active' and ($1::bigint[] is null or s.class_id = any($1))
         order by cl.name, s.name, s.id",
    )
    .bind(classes)
    .bind(courses)
    .bind(day)
    .fetch_all(&mut *c)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InspectionRow {
    pub id: i64,
    pub course_id: i64,
    pub course_name: String,
    pub day: NaiveDate,
    pub inspector_account: i64,
    pub inspector_name: String,
    pub observed_at: DateTime<Utc>,
    pub notes: String,
    pub picture_key: Option<String>,
}

const INSPECTION: &str = "select i.id, i.course_id, c.name as course_name, i.day,
        i.inspector_account, i.inspector_name, i.observed_at, i.notes, i.picture_key
    from inspections i join courses c on c.id = i.course_id";

pub async fn insert_inspection(
    c: &mut PgConnection,
    course: i64,
    day: NaiveDate,
    account: i64,
    name: &str,
    at: DateTime<Utc>,
    notes: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into inspections (course_id, day, inspector_account, inspector_name, observed_at, notes)
         values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(course)
    .bind(day)
    .bind(account)
    .bind(name)
    .bind(at)
    .bind(notes)
    .fetch_one(&mut *c)
    .await
}

pub async fn inspection(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<InspectionRow>> {
    sqlx::query_as(&format!("{INSPECTION} where i.id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

/// The inspections of `day` (all days when `None`), one inspector's when given, newest first.
pub async fn inspections(
    c: &mut PgConnection,
    day: Option<NaiveDate>,
    account: Option<i64>,
) -> sqlx::Result<Vec<InspectionRow>> {
    sqlx::query_as(&format!(
        "{INSPECTION} where ($1::date is null or i.day = $1)
           and ($2::bigint is null or i.inspector_account = $2)
         order by i.observed_at desc, i.id desc limit 200"
    ))
    .bind(day)
    .bind(account)
    .fetch_all(&mut *c)
    .await
}

pub async fn set_inspection_picture(
    c: &mut PgConnection,
    id: i64,
    key: &str,
    bytes: i32,
) -> sqlx::Result<()> {
    sqlx::query("update inspections set picture_key = $2, picture_bytes = $3 where id = $1")
        .bind(id)
        .bind(key)
        .bind(bytes)
        .execute(&mut *c)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LessonRow {
    pub course_id: i64,
    pub course_name: String,
    pub day: NaiveDate,
    pub content: String,
    pub written_at: DateTime<Utc>,
    pub pictures: Vec<String>,
}

const LESSON: &str = "select r.course_id, c.name as course_name, r.day, r.content, r.written_at,
        coalesce((select array_agg(p.object_key order by p.position) from lesson_record_pictures p
                  where p.course_id = r.course_id and p.day = r.day), '{}') as pictures
    from lesson_records r join courses c on c.id = r.course_id";

pub async fn lesson(
    c: &mut PgConnection,
    course: i64,
    day: NaiveDate,
) -> sqlx::Result<Option<LessonRow>> {
    sqlx::query_as(&format!("{LESSON} where r.course_id = $1 and r.day = $2"))
        .bind(course)
        .bind(day)
        .fetch_optional(&mut *c)
        .await
}

pub async fn set_lesson(
    c: &mut PgConnection,
    course: i64,
    day: NaiveDate,
    content: &str,
    by: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into lesson_records (course_id, day, content, written_by, written_at)
         values ($1, $2, $3, $4, $5)
         on conflict (course_id, day) do update
            set content = excluded.content, written_by = excluded.written_by,
                written_at = excluded.written_at",
    )
    .bind(course)
    .bind(day)
    .bind(content)
    .bind(by)
    .bind(at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Appends a photo to the record; `None` when it holds `max` already.
pub async fn add_lesson_picture(
    c: &mut PgConnection,
    course: i64,
    day: NaiveDate,
    key: &str,
    bytes: i32,
    max: i32,
) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar(
        "insert into lesson_record_pictures (course_id, day, position, object_key, bytes)
         select $1, $2, coalesce(max(position), 0) + 1, $3, $4 from lesson_record_pictures
         where course_id = $1 and day = $2
         having coalesce(max(position), 0) < $5
         returning position",
    )
    .bind(course)
    .bind(day)
    .bind(key)
    .bind(bytes)
    .bind(max)
    .fetch_optional(&mut *c)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CommentRow {
    pub course_id: i64,
    pub day: NaiveDate,
    pub student_id: i64,
    pub tags: Vec<String>,
    pub content: String,
    pub written_at: DateTime<Utc>,
}

#[allow(clippy::too_many_arguments)]
pub async fn set_comment(
    c: &mut PgConnection,
    course: i64,
    day: NaiveDate,
    student: i64,
    tags: &[String],
    content: &str,
    by: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into student_comments (course_id, day, student_id, tags, content, written_by, written_at)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (course_id, day, student_id) do update
            set tags = excluded.tags, content = excluded.content,
                written_by = excluded.written_by, written_at = excluded.written_at",
    )
    .bind(course)
    .bind(day)
    .bind(student)
    .bind(tags)
    .bind(content)
    .bind(by)
    .bind(at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn comments_of_session(
    c: &mut PgConnection,
    course: i64,
    day: NaiveDate,
) -> sqlx::Result<Vec<CommentRow>> {
    sqlx::query_as(
        "select course_id, day, student_id, tags, content, written_at from student_comments
         where course_id = $1 and day = $2",
    )
    .bind(course)
    .bind(day)
    .fetch_all(&mut *c)
    .await
}

/// The child's past sessions with something to show (a record, a comment or a mark), newest
/// first: (course, course name, day, mark).
pub async fn child_lessons(
    c: &mut PgConnection,
    student: i64,
) -> sqlx::Result<Vec<(i64, String, NaiveDate, Option<Mark>)>> {
    sqlx::query_as(
        "select x.course_id, c.name, x.day, m.mark from (
             select r.course_id, r.day from lesson_records r
             join enrollments e on e.course_id = r.course_id and e.student_id = $1
                               and e.status = 'confirmed'
             union select course_id, day from student_comments where student_id = $1
             union select course_id, day from attendance_marks where student_id = $1) x
         join courses c on c.id = x.course_id
         left join attendance_marks m
                on m.course_id = x.course_id and m.day = x.day and m.student_id = $1
         order by x.day desc, c.name limit 100",
    )
    .bind(student)
    .fetch_all(&mut *c)
    .await
}

pub async fn comments_of_child(
    c: &mut PgConnection,
    student: i64,
) -> sqlx::Result<Vec<CommentRow>> {
    sqlx::query_as(
        "select course_id, day, student_id, tags, content, written_at from student_comments
         where student_id = $1 order by day desc limit 100",
    )
    .bind(student)
    .fetch_all(&mut *c)
    .await
}

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
