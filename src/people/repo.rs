//! SQL on a school's people tables. Runs inside a `TenantTx`, so unqualified names are the
//! tenant's own tables; the only `platform.` statements (guardian accounts, the caller's
//! phone hash and consent, the homeroom role) run between `TenantTx::leave_role` and
//! `enter_role`. Must never be called from outside `people` for a write.
//!
//! Writes take whole batches as parallel arrays (`unnest`): one statement for one record or
//! for ten thousand, so the form and the bulk import share one write path.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::types::Json;
use sqlx::PgConnection;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::model::{ImportKind, JobPhase, JobStatus, Person, RowError, StaffStatus};

/// (id, code, name, alias) of the active classes.
pub async fn active_classes(
    c: &mut PgConnection,
) -> sqlx::Result<Vec<(i64, String, String, Option<String>)>> {
    sqlx::query_as("select id, code, name, alias from classes where status = 'active'")
        .fetch_all(&mut *c)
        .await
}

/// Staff columns shared by the upsert's arrays, one entry per record.
#[derive(Debug, Default)]
pub struct StaffBatch {
    pub staff_no: Vec<String>,
    pub name: Vec<String>,
    pub id_enc: Vec<Vec<u8>>,
    pub id_hash: Vec<Vec<u8>>,
    pub id_masked: Vec<String>,
    pub birth: Vec<NaiveDate>,
    pub sex: Vec<String>,
    pub qualification_no: Vec<Option<String>>,
    pub education: Vec<Option<String>>,
    pub title: Vec<Option<String>>,
    pub phone_enc: Vec<Vec<u8>>,
    pub phone_hash: Vec<Vec<u8>>,
    pub phone_masked: Vec<String>,
    pub resume: Vec<Option<String>>,
    pub employed_since: Vec<Option<i16>>,
    pub duties: Vec<Option<String>>,
    pub salary: Vec<Option<Decimal>>,
}

/// Inserts or updates (matched by ID number) every record; returns (id, inserted) in order.
pub async fn upsert_staff(c: &mut PgConnection, b: &StaffBatch) -> sqlx::Result<Vec<(i64, bool)>> {
    sqlx::query_as(
        "insert into staff (staff_no, name, id_number_enc, id_number_hash, id_number_masked,
                birth_date, sex, qualification_no, education, title, phone_enc, phone_hash,
                phone_masked, resume, employed_since, duties, monthly_salary, status)
         select a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q, 'active' from unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[],
                $5::text[], $6::date[], $7::text[], $8::text[], $9::text[], $10::text[],
                $11::bytea[], $12::bytea[], $13::text[], $14::text[], $15::int2[], $16::text[],
                $17::numeric[]) with ordinality as u(a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,ord)
         order by ord
         on conflict (id_number_hash) do update set
             staff_no = excluded.staff_no, name = excluded.name,
             id_number_enc = excluded.id_number_enc, id_number_masked = excluded.id_number_masked,
             birth_date = excluded.birth_date, sex = excluded.sex,
             qualification_no = excluded.qualification_no, education = excluded.education,
             title = excluded.title, phone_enc = excluded.phone_enc,
             phone_hash = excluded.phone_hash, phone_masked = excluded.phone_masked,
             resume = excluded.resume, employed_since = excluded.employed_since,
             duties = excluded.duties, monthly_salary = excluded.monthly_salary,
             status = 'active', updated_at = now()
         returning id, (xmax = 0)",
    )
    .bind(&b.staff_no)
    .bind(&b.name)
    .bind(&b.id_enc)
    .bind(&b.id_hash)
    .bind(&b.id_masked)
    .bind(&b.birth)
    .bind(&b.sex)
    .bind(&b.qualification_no)
    .bind(&b.education)
    .bind(&b.title)
    .bind(&b.phone_enc)
    .bind(&b.phone_hash)
    .bind(&b.phone_masked)
    .bind(&b.resume)
    .bind(&b.employed_since)
    .bind(&b.duties)
    .bind(&b.salary)
    .fetch_all(&mut *c)
    .await
}

/// (staff_no, id_number_hash) of every staff record: duplicate checks before a write.
pub async fn staff_keys(c: &mut PgConnection) -> sqlx::Result<Vec<(String, Vec<u8>)>> {
    sqlx::query_as("select staff_no, id_number_hash from staff")
        .fetch_all(&mut *c)
        .await
}

/// Creates the departments that do not exist yet; returns (name, id) for every name.
pub async fn ensure_departments(
    c: &mut PgConnection,
    names: &[String],
) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query("insert into departments (name) select unnest($1::text[]) on conflict do nothing")
        .bind(names)
        .execute(&mut *c)
        .await?;
    sqlx::query_as("select name, id from departments where name = any($1)")
        .bind(names)
        .fetch_all(&mut *c)
        .await
}

/// Replaces the department memberships of `staff` with the given (staff, department) pairs.
pub async fn set_memberships(
    c: &mut PgConnection,
    staff: &[i64],
    pairs: &[(i64, i64)],
) -> sqlx::Result<()> {
    sqlx::query("delete from department_members where staff_id = any($1)")
        .bind(staff)
        .execute(&mut *c)
        .await?;
    let (s, d): (Vec<i64>, Vec<i64>) = pairs.iter().copied().unzip();
    sqlx::query(
        "insert into department_members (staff_id, department_id)
         select * from unnest($1::int8[], $2::int8[]) on conflict do nothing",
    )
    .bind(&s)
    .bind(&d)
    .execute(&mut *c)
    .await?;
    Ok(())
}

#[derive(Debug, Default)]
pub struct StudentBatch {
    pub name: Vec<String>,
    pub id_enc: Vec<Vec<u8>>,
    pub id_hash: Vec<Vec<u8>>,
    pub id_masked: Vec<String>,
    pub birth: Vec<NaiveDate>,
    pub sex: Vec<String>,
    pub class_id: Vec<i64>,
}

/// Inserts or updates (matched by ID number: a re-import moves the child to the class in
/// the file) every record; returns (id, inserted) in order.
pub async fn upsert_students(
    c: &mut PgConnection,
    b: &StudentBatch,
) -> sqlx::Result<Vec<(i64, bool)>> {
    sqlx::query_as(
        "insert into students (name, id_number_enc, id_number_hash, id_number_masked,
                birth_date, sex, class_id, status)
         select a, b, c, d, e, f, g, 'active' from unnest($1::text[], $2::bytea[], $3::bytea[],
                $4::text[], $5::date[], $6::text[], $7::int8[])
                with ordinality as u(a,b,c,d,e,f,g,ord)
         order by ord
         on conflict (id_number_hash) do update set
             name = excluded.name, id_number_enc = excluded.id_number_enc,
             id_number_masked = excluded.id_number_masked, birth_date = excluded.birth_date,
             sex = excluded.sex, class_id = excluded.class_id, status = 'active',
             updated_at = now()
         returning id, (xmax = 0)",
    )
    .bind(&b.name)
    .bind(&b.id_enc)
    .bind(&b.id_hash)
    .bind(&b.id_masked)
    .bind(&b.birth)
    .bind(&b.sex)
    .bind(&b.class_id)
    .fetch_all(&mut *c)
    .await
}

/// (id_number_hash, id, name) of the students whose hash is in `hashes`.
pub async fn students_by_hash(
    c: &mut PgConnection,
    hashes: &[Vec<u8>],
) -> sqlx::Result<Vec<(Vec<u8>, i64, String)>> {
    sqlx::query_as(
        "select id_number_hash, id, name from students where id_number_hash = any($1::bytea[])",
    )
    .bind(hashes)
    .fetch_all(&mut *c)
    .await
}

#[derive(Debug, Default)]
pub struct GuardianBatch {
    pub name: Vec<String>,
    pub phone_enc: Vec<Vec<u8>>,
    pub phone_hash: Vec<Vec<u8>>,
    pub phone_masked: Vec<String>,
}

/// Inserts or renames (matched by phone) each guardian; returns (phone_hash, id, inserted).
pub async fn upsert_guardians(
    c: &mut PgConnection,
    b: &GuardianBatch,
) -> sqlx::Result<Vec<(Vec<u8>, i64, bool)>> {
    sqlx::query_as(
        "insert into guardians (name, phone_enc, phone_hash, phone_masked)
         select * from unnest($1::text[], $2::bytea[], $3::bytea[], $4::text[])
         on conflict (phone_hash) do update set
             name = excluded.name, phone_enc = excluded.phone_enc,
             phone_masked = excluded.phone_masked, updated_at = now()
         returning phone_hash, id, (xmax = 0)",
    )
    .bind(&b.name)
    .bind(&b.phone_enc)
    .bind(&b.phone_hash)
    .bind(&b.phone_masked)
    .fetch_all(&mut *c)
    .await
}

/// Links (student, guardian, relation) triples; an existing link takes the new relation.
pub async fn link_guardians(
    c: &mut PgConnection,
    students: &[i64],
    guardians: &[i64],
    relations: &[&str],
) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "insert into student_guardians (student_id, guardian_id, relation)
         select * from unnest($1::int8[], $2::int8[], $3::text[])
         on conflict (student_id, guardian_id) do update set relation = excluded.relation",
    )
    .bind(students)
    .bind(guardians)
    .bind(relations)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected())
}

pub async fn set_guardian_accounts(
    c: &mut PgConnection,
    guardians: &[i64],
    accounts: &[i64],
) -> sqlx::Result<()> {
    sqlx::query(
        "update guardians g set account_id = u.account
         from unnest($1::int8[], $2::int8[]) as u(id, account)
         where g.id = u.id and g.account_id is distinct from u.account",
    )
    .bind(guardians)
    .bind(accounts)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Platform side, outside the tenant role: whether the account has agreed to this version
/// of the personal-data rules and not withdrawn.
pub async fn has_consent(
    c: &mut PgConnection,
    account_id: i64,
    terms_version: &str,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from platform.consents where account_id = $1
                        and terms_version = $2 and withdrawn_at is null)",
    )
    .bind(account_id)
    .bind(terms_version)
    .fetch_one(&mut *c)
    .await
}

/// The account's phone hash: staff and guardians are matched to accounts by it.
pub async fn account_phone_hash(
    c: &mut PgConnection,
    account_id: i64,
) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("select phone_hash from platform.accounts where id = $1")
        .bind(account_id)
        .fetch_optional(&mut *c)
        .await
}

// ---- reads -----------------------------------------------------------------------------

#[derive(Debug, sqlx::FromRow)]
pub struct StaffRow {
    pub id: i64,
    pub staff_no: String,
    pub name: String,
    pub id_number_masked: String,
    pub birth_date: NaiveDate,
    pub sex: String,
    pub qualification_no: Option<String>,
    pub education: Option<String>,
    pub title: Option<String>,
    pub phone_masked: String,
    pub resume: Option<String>,
    pub employed_since: Option<i16>,
    pub duties: Option<String>,
    pub monthly_salary: Option<Decimal>,
    pub status: StaffStatus,
    pub departments: Vec<String>,
    pub homeroom_of: Vec<String>,
}

const STAFF_SELECT: &str = "
    select s.id, s.staff_no, s.name, s.id_number_masked, s.birth_date, s.sex,
           s.qualification_no, s.education, s.title, s.phone_masked, s.resume,
           s.employed_since, s.duties, s.monthly_salary, s.status,
           coalesce((select array_agg(d.name order by d.name) from department_members m
                     join departments d on d.id = m.department_id where m.staff_id = s.id),
                    '{}') as departments,
           coalesce((select array_agg(c.name order by c.code) from class_homeroom h
                     join classes c on c.id = h.class_id where h.staff_id = s.id),
                    '{}') as homeroom_of
    from staff s";

/// Staff, optionally of one department, optionally matching a name or staff number.
pub async fn staff(
    c: &mut PgConnection,
    department: Option<i64>,
    q: Option<&str>,
) -> sqlx::Result<Vec<StaffRow>> {
    // Static text with optional filters expressed as "$n is null or ...": one plan, no
    // string building.
    let sql = format!(
        "{STAFF_SELECT}
         where ($1::int8 is null or exists (select 1 from department_members m
                where m.staff_id = s.id and m.department_id = $1))
           and ($2::text is null or s.name like '%' || $2 || '%' or s.staff_no = $2)
         order by s.staff_no"
    );
    sqlx::query_as(&sql)
        .bind(department)
        .bind(q)
        .fetch_all(&mut *c)
        .await
}

pub async fn staff_one(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<StaffRow>> {
    let sql = format!("{STAFF_SELECT} where s.id = $1");
    sqlx::query_as(&sql).bind(id).fetch_optional(&mut *c).await
}

/// (name, id_number_enc, phone_enc) of one staff member.
pub async fn staff_secret(
    c: &mut PgConnection,
    id: i64,
) -> sqlx::Result<Option<(String, Vec<u8>, Vec<u8>)>> {
    sqlx::query_as("select name, id_number_enc, phone_enc from staff where id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

pub async fn set_staff_account(c: &mut PgConnection, id: i64, account: i64) -> sqlx::Result<()> {
    sqlx::query("update staff set account_id = $2 where id = $1")
        .bind(id)
        .bind(account)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Ids of the active classes whose homeroom teacher has this phone hash.
pub async fn homeroom_classes(c: &mut PgConnection, phone_hash: &[u8]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "select h.class_id from class_homeroom h join staff s on s.id = h.staff_id
         where s.phone_hash = $1 and s.status = 'active'",
    )
    .bind(phone_hash)
    .fetch_all(&mut *c)
    .await
}

pub async fn departments(c: &mut PgConnection) -> sqlx::Result<Vec<(i64, String, i64)>> {
    sqlx::query_as(
        "select d.id, d.name, (select count(*) from department_members m where m.department_id = d.id)
         from departments d order by d.name",
    )
    .fetch_all(&mut *c)
    .await
}

pub async fn create_department(c: &mut PgConnection, name: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into departments (name) values ($1) on conflict do nothing returning id",
    )
    .bind(name)
    .fetch_optional(&mut *c)
    .await
}

pub async fn rename_department(c: &mut PgConnection, id: i64, name: &str) -> sqlx::Result<u64> {
    let r = sqlx::query("update departments set name = $2 where id = $1")
        .bind(id)
        .bind(name)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected())
}

pub async fn delete_department(c: &mut PgConnection, id: i64) -> sqlx::Result<u64> {
    let r = sqlx::query("delete from departments where id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected())
}

pub async fn department_member_count(c: &mut PgConnection, id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from department_members where department_id = $1")
        .bind(id)
        .fetch_one(&mut *c)
        .await
}

#[derive(Debug, sqlx::FromRow)]
pub struct StudentRow {
    pub id: i64,
    pub name: String,
    pub id_number_masked: String,
    pub birth_date: NaiveDate,
    pub sex: String,
    pub class_id: i64,
    pub class_name: String,
    pub class_alias: Option<String>,
    pub status: String,
    /// [{id, name, relation, phone_masked}]
    pub guardians: sqlx::types::Json<Vec<GuardianJson>>,
    pub total: i64,
}

#[derive(Debug, serde::Deserialize)]
pub struct GuardianJson {
    pub id: i64,
    pub name: String,
    pub relation: String,
    pub phone_masked: String,
}

/// Which students a list asks for; every filter is optional.
#[derive(Debug, Default)]
pub struct StudentFilter<'a> {
    /// The class set the caller may see (`None` = the whole school).
    pub scope: Option<&'a [i64]>,
    pub class_id: Option<i64>,
    pub status: Option<&'a str>,
    pub q: Option<&'a str>,
    /// Children of the guardian with this phone hash.
    pub guardian_phone_hash: Option<&'a [u8]>,
    pub id: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// One page of students with the total count. Optional filters are "$n is null or ...":
/// one static statement, no string building.
pub async fn students(
    c: &mut PgConnection,
    f: &StudentFilter<'_>,
) -> sqlx::Result<Vec<StudentRow>> {
    sqlx::query_as(
        "select s.id, s.name, s.id_number_masked, s.birth_date, s.sex, s.class_id,
                c.name as class_name, c.alias as class_alias, s.status,
                coalesce((select jsonb_agg(jsonb_build_object('id', g.id, 'name', g.name,
                          'relation', sg.relation, 'phone_masked', g.phone_masked) order by g.id)
                          from student_guardians sg join guardians g on g.id = sg.guardian_id
                          where sg.student_id = s.id), '[]'::jsonb) as guardians,
                count(*) over () as total
         from students s join classes c on c.id = s.class_id
         where ($1::int8[] is null or s.class_id = any($1))
           and ($2::int8 is null or s.class_id = $2)
           and ($3::text is null or s.status = $3)
           and ($4::text is null or s.name like '%' || $4 || '%')
           and ($5::bytea is null or exists (select 1 from student_guardians sg
                join guardians g on g.id = sg.guardian_id
                where sg.student_id = s.id and g.phone_hash = $5))
           and ($6::int8 is null or s.id = $6)
         order by c.code, s.name, s.id
         limit $7 offset $8",
    )
    .bind(f.scope)
    .bind(f.class_id)
    .bind(f.status)
    .bind(f.q)
    .bind(f.guardian_phone_hash)
    .bind(f.id)
    .bind(f.limit)
    .bind(f.offset)
    .fetch_all(&mut *c)
    .await
}

/// (name, id_number_enc, class_id) of one student.
pub async fn student_secret(
    c: &mut PgConnection,
    id: i64,
) -> sqlx::Result<Option<(String, Vec<u8>, i64)>> {
    sqlx::query_as("select name, id_number_enc, class_id from students where id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

pub async fn unlink_guardian(
    c: &mut PgConnection,
    student: i64,
    guardian: i64,
) -> sqlx::Result<u64> {
    let r = sqlx::query("delete from student_guardians where student_id = $1 and guardian_id = $2")
        .bind(student)
        .bind(guardian)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected())
}

/// The class's homeroom teacher is replaced; returns the previous one.
pub async fn set_homeroom(
    c: &mut PgConnection,
    class_id: i64,
    staff_id: i64,
) -> sqlx::Result<Option<i64>> {
    let prev: Option<i64> =
        sqlx::query_scalar("select staff_id from class_homeroom where class_id = $1 for update")
            .bind(class_id)
            .fetch_optional(&mut *c)
            .await?;
    sqlx::query(
        "insert into class_homeroom (class_id, staff_id) values ($1, $2)
         on conflict (class_id) do update set staff_id = excluded.staff_id, created_at = now()",
    )
    .bind(class_id)
    .bind(staff_id)
    .execute(&mut *c)
    .await?;
    Ok(prev)
}

pub async fn clear_homeroom(c: &mut PgConnection, class_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("delete from class_homeroom where class_id = $1 returning staff_id")
        .bind(class_id)
        .fetch_optional(&mut *c)
        .await
}

pub async fn homeroom_count(c: &mut PgConnection, staff_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from class_homeroom where staff_id = $1")
        .bind(staff_id)
        .fetch_one(&mut *c)
        .await
}

/// Whether the class exists and is active (not graduated).
pub async fn class_is_active(c: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists (select 1 from classes where id = $1 and status = 'active')")
        .bind(id)
        .fetch_one(&mut *c)
        .await
}

/// The table of a record kind: a fixed pair of identifiers, which is why it may be spliced
/// into the statements below.
fn table(who: Person) -> &'static str {
    match who {
        Person::Staff => "staff",
        Person::Student => "students",
    }
}

/// Status of a staff or student record; returns the rows changed.
pub async fn set_status(
    c: &mut PgConnection,
    who: Person,
    id: i64,
    status: &str,
) -> sqlx::Result<u64> {
    let sql = format!(
        "update {} set status = $2, updated_at = now() where id = $1",
        table(who)
    );
    let r = sqlx::query(&sql)
        .bind(id)
        .bind(status)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected())
}

/// The record that holds this ID-number hash.
pub async fn owner_of_id_number(
    c: &mut PgConnection,
    who: Person,
    hash: &[u8],
) -> sqlx::Result<Option<i64>> {
    let sql = format!("select id from {} where id_number_hash = $1", table(who));
    sqlx::query_scalar(&sql)
        .bind(hash)
        .fetch_optional(&mut *c)
        .await
}

pub async fn set_id_number_hash(
    c: &mut PgConnection,
    who: Person,
    id: i64,
    hash: &[u8],
) -> sqlx::Result<u64> {
    let sql = format!(
        "update {} set id_number_hash = $2 where id = $1",
        table(who)
    );
    let r = sqlx::query(&sql)
        .bind(id)
        .bind(hash)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected())
}

/// Number of students of the school (any status).
pub async fn student_count(c: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from students")
        .fetch_one(&mut *c)
        .await
}

/// (id, name) of the active classes, by code.
pub async fn active_class_names(c: &mut PgConnection) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as("select id, name from classes where status = 'active' order by code")
        .fetch_all(&mut *c)
        .await
}

// ---- import jobs -----------------------------------------------------------------------

#[derive(Debug, sqlx::FromRow)]
pub struct JobRow {
    pub id: Uuid,
    pub kind: String,
    pub file_name: String,
    pub status: String,
    pub phase: String,
    pub total_rows: i32,
    pub processed_rows: i32,
    pub inserted: i32,
    pub updated: i32,
    pub error_count: i32,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const JOB_COLS: &str = "id, kind, file_name, status, phase, total_rows, processed_rows, inserted,
    updated, error_count, message, created_at, heartbeat_at, finished_at";

/// A job as it starts: running, with the file's figures.
pub struct NewJob<'a> {
    pub id: Uuid,
    pub kind: ImportKind,
    pub file_name: &'a str,
    pub sha256: &'a str,
    pub total_rows: i32,
    pub created_by: i64,
    pub at: DateTime<Utc>,
}

pub async fn insert_job(c: &mut PgConnection, j: &NewJob<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "insert into import_jobs (id, kind, file_name, file_sha256, status, total_rows,
                                  created_by, created_at, heartbeat_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(j.id)
    .bind(j.kind.as_str())
    .bind(j.file_name)
    .bind(j.sha256)
    .bind(JobStatus::Running.as_str())
    .bind(j.total_rows)
    .bind(j.created_by)
    .bind(j.at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn job(c: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<JobRow>> {
    let sql = format!("select {JOB_COLS} from import_jobs where id = $1");
    sqlx::query_as(&sql).bind(id).fetch_optional(&mut *c).await
}

/// The 50 most recent jobs, newest first.
pub async fn recent_jobs(c: &mut PgConnection) -> sqlx::Result<Vec<JobRow>> {
    let sql = format!("select {JOB_COLS} from import_jobs order by created_at desc limit 50");
    sqlx::query_as(&sql).fetch_all(&mut *c).await
}

/// The kept row errors of a job and its error count.
pub async fn job_errors(
    c: &mut PgConnection,
    id: Uuid,
) -> sqlx::Result<Option<(Vec<RowError>, i32)>> {
    let row: Option<(Json<Vec<RowError>>, i32)> =
        sqlx::query_as("select errors, error_count from import_jobs where id = $1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await?;
    Ok(row.map(|(errors, count)| (errors.0, count)))
}

/// Progress of a running job (a finished one is left as it is).
pub async fn job_progress(
    c: &mut PgConnection,
    id: Uuid,
    phase: JobPhase,
    processed: i32,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update import_jobs set phase = $2, processed_rows = $3, heartbeat_at = $4
         where id = $1 and status = $5",
    )
    .bind(id)
    .bind(phase.as_str())
    .bind(processed)
    .bind(at)
    .bind(JobStatus::Running.as_str())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Ends a job as failed, with its kept errors and message.
pub async fn fail_job(
    c: &mut PgConnection,
    id: Uuid,
    errors: &[RowError],
    error_count: i32,
    message: &str,
    processed: i32,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update import_jobs set status = $7, phase = $8, errors = $2,
                error_count = $3, message = $4, finished_at = $5, heartbeat_at = $5,
                processed_rows = greatest(processed_rows, $6)
         where id = $1",
    )
    .bind(id)
    .bind(Json(errors))
    .bind(error_count)
    .bind(message)
    .bind(at)
    .bind(processed)
    .bind(JobStatus::Failed.as_str())
    .bind(JobPhase::Done.as_str())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Ends a job as succeeded, in the import's own transaction (it commits with the data).
pub async fn succeed_job(
    c: &mut PgConnection,
    id: Uuid,
    processed: i32,
    inserted: i32,
    updated: i32,
    message: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update import_jobs set status = $7, phase = $8, processed_rows = $2,
                inserted = $3, updated = $4, message = $5, finished_at = $6, heartbeat_at = $6
         where id = $1",
    )
    .bind(id)
    .bind(processed)
    .bind(inserted)
    .bind(updated)
    .bind(message)
    .bind(at)
    .bind(JobStatus::Succeeded.as_str())
    .bind(JobPhase::Done.as_str())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// One import at a time per school, until the transaction ends.
pub async fn lock_imports(c: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("select pg_advisory_xact_lock(hashtext(current_schema() || ':import'))")
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Graduates the active students of these classes; answers how many.
pub async fn graduate_students(c: &mut PgConnection, class_ids: &[i64]) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "update students set status = 'graduated', updated_at = now()
         where class_id = any($1) and status = 'active'",
    )
    .bind(class_ids)
    .execute(&mut *c)
    .await?
    .rows_affected())
}

/// A staff row with what the supervision push needs (F3).
#[derive(Debug, sqlx::FromRow)]
pub struct StaffFactsRow {
    pub id: i64,
    pub staff_no: String,
    pub name: String,
    pub id_number_enc: Vec<u8>,
    pub birth_date: chrono::NaiveDate,
    pub qualification_no: Option<String>,
    pub education: Option<String>,
    pub title: Option<String>,
    pub phone_enc: Vec<u8>,
    pub resume: Option<String>,
    pub employed_since: Option<i16>,
    pub duties: Option<String>,
    pub monthly_salary: Option<rust_decimal::Decimal>,
}

pub async fn staff_facts(c: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<StaffFactsRow>> {
    sqlx::query_as(
        "select id, staff_no, name, id_number_enc, birth_date, qualification_no, education, title,
                phone_enc, resume, employed_since, duties, monthly_salary
         from staff where id = any($1) order by id",
    )
    .bind(ids)
    .fetch_all(&mut *c)
    .await
}

/// A student row with what the supervision push needs (F4).
#[derive(Debug, sqlx::FromRow)]
pub struct StudentFactsRow {
    pub id: i64,
    pub name: String,
    pub id_number_enc: Vec<u8>,
    pub birth_date: chrono::NaiveDate,
    pub sex: String,
    pub grade_name: String,
    pub class_name: String,
}

pub async fn student_facts(
    c: &mut PgConnection,
    ids: &[i64],
) -> sqlx::Result<Vec<StudentFactsRow>> {
    sqlx::query_as(
        "select s.id, s.name, s.id_number_enc, s.birth_date, s.sex, g.name as grade_name,
                c.name as class_name
         from students s join classes c on c.id = s.class_id join grades g on g.id = c.grade_id
         where s.id = any($1) order by s.id",
    )
    .bind(ids)
    .fetch_all(&mut *c)
    .await
}
