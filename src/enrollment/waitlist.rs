//! Waitlists and lotteries (issue #5, item 3).
//!
//! A full first-come course keeps a line; a lottery course collects applications during its
//! window and draws them afterwards from a recorded seed. Either way, a free seat is
//! offered to the first in line as a *held enrollment* (the seat is taken for them), which
//! expires like any hold; then the next in line gets one. Every path that frees a seat
//! calls [`promote`], so nobody can book past the line.
//!
//! Must never let the draw depend on anything but the seed and the applications in id
//! order: a published result can be replayed by anyone.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::PgConnection;

use super::model::{DrawView, WaitlistView};
use super::repo;
use super::service::{self, own_child};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::courses::repo as courses;
use crate::error::{ApiError, ErrorKind};
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::tenancy::model::TenantContext;

/// Offers free seats of `course` to the line, first come (or first drawn) first. Returns
/// the enrollments made.
pub async fn promote(
    c: &mut PgConnection,
    course: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<i64>> {
    let hold: Option<i32> = sqlx::query_scalar("select hold_minutes from courses where id = $1")
        .bind(course)
        .fetch_optional(&mut *c)
        .await?;
    let Some(hold) = hold else {
        return Ok(Vec::new());
    };
    let mut made = Vec::new();
    loop {
        let next: Option<(i64, i64, i64)> = sqlx::query_as(
            "select id, student_id, joined_by from waitlist
             where course_id = $1 and status = 'waiting'
             order by position, id limit 1 for update skip locked",
        )
        .bind(course)
        .fetch_optional(&mut *c)
        .await?;
        let Some((wid, student, by)) = next else {
            break;
        };
        if !repo::take_seat(c, course).await? {
            break;
        }
        let expires = now + Duration::minutes(i64::from(hold));
        match repo::insert_hold(c, course, student, expires, by, now).await? {
            Some(eid) => {
                sqlx::query(
                    "update waitlist set status = 'offered', enrollment_id = $2, updated_at = $3
                     where id = $1",
                )
                .bind(wid)
                .bind(eid)
                .bind(now)
                .execute(&mut *c)
                .await?;
                made.push(eid);
            }
            None => {
                // Booked meanwhile by other means: out of the line, seat back.
                repo::give_seat_back(c, course).await?;
                sqlx::query("update waitlist set status = 'left', updated_at = $2 where id = $1")
                    .bind(wid)
                    .bind(now)
                    .execute(&mut *c)
                    .await?;
            }
        }
    }
    Ok(made)
}

/// Expires the course's stale holds (offers among them included) and passes the freed
/// seats on to the line. `true` when a hold expired.
pub async fn expire_and_promote(
    c: &mut PgConnection,
    course: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let expired = repo::expire_stale_holds(c, course, now).await?;
    if !expired.is_empty() {
        sqlx::query(
            "update waitlist set status = 'expired', updated_at = $2
             where enrollment_id = any($1) and status = 'offered'",
        )
        .bind(&expired)
        .bind(now)
        .execute(&mut *c)
        .await?;
        promote(c, course, now).await?;
    }
    Ok(!expired.is_empty())
}

/// One pass over a school: every course with a hold that ran out. The server runs this
/// every half minute so offers move on even when nobody books.
pub async fn sweep(
    pool: &sqlx::PgPool,
    tenant: &TenantContext,
    now: DateTime<Utc>,
) -> sqlx::Result<usize> {
    let mut tx = TenantTx::begin(pool, tenant).await?;
    let courses: Vec<i64> = sqlx::query_scalar(
        "select distinct course_id from enrollments where status = 'held' and hold_expires_at <= $1",
    )
    .bind(now)
    .fetch_all(tx.conn())
    .await?;
    for c in &courses {
        expire_and_promote(tx.conn(), *c, now).await?;
    }
    tx.commit().await?;
    Ok(courses.len())
}

/// Runs [`sweep`] over every active school every `every`, for the life of the server.
pub async fn run_sweeper(st: std::sync::Arc<Ctx>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let tenants = match crate::tenancy::repo::list(&st.db_app).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "sweeper: tenant list failed");
                continue;
            }
        };
        for rec in tenants
            .iter()
            .filter(|r| r.kind == "school" && !r.is_suspended())
        {
            let Some(ctx) = TenantContext::from_record(rec) else {
                continue;
            };
            if let Err(e) = sweep(&st.db_app, &ctx, st.clock.now()).await {
                tracing::warn!(tenant = %rec.code, error = %e, "sweeper: sweep failed");
            }
        }
    }
}

/// Joins the line of a full course, or applies to a lottery course during its window.
pub async fn join(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    student_id: i64,
    course_id: i64,
) -> Result<WaitlistView, ApiError> {
    let now = st.clock.now();
    let (student, _, level) = own_child(tx, auth, student_id).await?;
    let course = courses::course_for_booking(tx.conn(), course_id)
        .await?
        .ok_or_else(|| service::course_not_found(course_id))?;
    service::check_bookable(&course, level, now)?;
    let lottery = course.allocation == "lottery";
    if !lottery {
        expire_and_promote(tx.conn(), course.id, now).await?;
        let free: bool =
            sqlx::query_scalar("select taken < capacity from course_seats where course_id = $1")
                .bind(course.id)
                .fetch_one(tx.conn())
                .await?;
        if free {
            return Err(ApiError::new(
                ErrorKind::Conflict,
                "WAITLIST_NOT_NEEDED",
                format!("“{}”还有名额，请直接报名", course.name),
                json!({ "course_id": course.id }),
            ));
        }
    }
    let id: Option<i64> = sqlx::query_scalar(
        "insert into waitlist (course_id, student_id, status, position, joined_by, joined_at, updated_at)
         select $1, $2, $3, 0, $4, $5, $5
         where not exists (select 1 from enrollments where course_id = $1 and student_id = $2
                           and status in ('held', 'confirmed'))
         on conflict (course_id, student_id) where status in ('applied', 'waiting', 'offered') do nothing
         returning id",
    )
    .bind(course.id)
    .bind(student)
    .bind(if lottery { "applied" } else { "waiting" })
    .bind(auth.account_id)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    let Some(id) = id else {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "WAITLIST_DUPLICATE",
            format!("孩子已报名或已在“{}”的候补/抽签名单中", course.name),
            json!({ "course_id": course.id }),
        ));
    };
    tx.audit(
        st,
        auth,
        AuditEvent::new(
            if lottery {
                "enrollment.apply"
            } else {
                "enrollment.waitlist"
            },
            format!("student:{student}"),
            Outcome::Success,
        )
        .details(json!({ "course_id": course.id, "waitlist": id })),
    )
    .await?;
    let ahead: i64 = sqlx::query_scalar(
        "select count(*) from waitlist where course_id = $1 and status = 'waiting' and id < $2",
    )
    .bind(course.id)
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    Ok(WaitlistView {
        id,
        course_id: course.id,
        course_name: course.name,
        student_id: student,
        status: if lottery { "applied" } else { "waiting" }.into(),
        ahead: if lottery { None } else { Some(ahead) },
        enrollment_id: None,
    })
}

/// The child's lines and applications, with how many are ahead.
pub async fn of_child(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    student_id: i64,
) -> Result<Vec<WaitlistView>, ApiError> {
    let (student, _, _) = own_child(tx, auth, student_id).await?;
    let _ = st;
    type Row = (i64, i64, String, String, Option<i64>, Option<i64>);
    let rows: Vec<Row> = sqlx::query_as(
        "select w.id, w.course_id, c.name, w.status, w.enrollment_id,
                case when w.status = 'waiting' then
                  (select count(*) from waitlist x where x.course_id = w.course_id
                     and x.status = 'waiting' and (x.position, x.id) < (w.position, w.id)) end
         from waitlist w join courses c on c.id = w.course_id
         where w.student_id = $1 order by w.joined_at desc, w.id desc",
    )
    .bind(student)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, course_id, course_name, status, enrollment_id, ahead)| WaitlistView {
                id,
                course_id,
                course_name,
                student_id: student,
                status,
                ahead,
                enrollment_id,
            },
        )
        .collect())
}

/// SplitMix64: a tiny, fully specified generator, so a draw replays bit for bit from its
/// seed on any machine and any version of any library.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0), by rejection so there is no modulo bias.
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// The draw: a Fisher–Yates shuffle of the applications (in id order) driven by the seed.
pub fn draw_order(applications: &[i64], seed: u64) -> Vec<i64> {
    let mut out = applications.to_vec();
    let mut rng = SplitMix64(seed);
    for i in (1..out.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        out.swap(i, j);
    }
    out
}

/// Draws a lottery course once its window has closed: applications get their place in
/// line from the seeded shuffle, the first `capacity` get offers (held enrollments), the
/// rest stay in line in drawn order. Results and waitlist are published together.
pub async fn draw(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    course_id: i64,
    seed: Option<i64>,
) -> Result<DrawView, ApiError> {
    let now = st.clock.now();
    let course = courses::course_for_booking(tx.conn(), course_id)
        .await?
        .ok_or_else(|| service::course_not_found(course_id))?;
    if course.allocation != "lottery" {
        return Err(ApiError::new(
            ErrorKind::Unprocessable,
            "NOT_A_LOTTERY",
            "该课程按报名先后分配名额，无需抽签",
            json!({}),
        ));
    }
    if now < course.reg_closes_at {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "DRAW_TOO_EARLY",
            "报名尚未截止，截止后才能抽签",
            json!({ "closes_at": course.reg_closes_at }),
        ));
    }
    let seed = seed.unwrap_or_else(rand::random::<i64>);
    let inserted = sqlx::query(
        "insert into lottery_draws (course_id, seed, drawn_at, drawn_by, applicants, winners)
         values ($1, $2, $3, $4, 0, 0) on conflict do nothing",
    )
    .bind(course.id)
    .bind(seed)
    .bind(now)
    .bind(auth.account_id)
    .execute(tx.conn())
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "ALREADY_DRAWN",
            "该课程已抽签，结果不能重抽",
            json!({ "course_id": course.id }),
        ));
    }
    let apps: Vec<i64> = sqlx::query_scalar(
        "select id from waitlist where course_id = $1 and status = 'applied' order by id for update",
    )
    .bind(course.id)
    .fetch_all(tx.conn())
    .await?;
    let order = draw_order(&apps, seed as u64);
    let positions: Vec<i64> = (1..=order.len() as i64).collect();
    sqlx::query(
        "update waitlist w set status = 'waiting', position = u.pos, updated_at = $3
         from unnest($1::int8[], $2::int8[]) as u(id, pos) where w.id = u.id",
    )
    .bind(&order)
    .bind(&positions)
    .bind(now)
    .execute(tx.conn())
    .await?;
    let offers = promote(tx.conn(), course.id, now).await?;
    sqlx::query("update lottery_draws set applicants = $2, winners = $3 where course_id = $1")
        .bind(course.id)
        .bind(order.len() as i32)
        .bind(offers.len() as i32)
        .execute(tx.conn())
        .await?;
    tx.audit(
        st,
        auth,
        AuditEvent::new(
            "enrollment.draw",
            format!("course:{}", course.id),
            Outcome::Success,
        )
        .details(json!({ "seed": seed, "applicants": order.len(), "winners": offers.len() })),
    )
    .await?;
    draw_result(tx, course.id).await
}

/// The published result of a draw: the seed and every application's place and outcome.
pub async fn draw_result(tx: &mut TenantTx, course_id: i64) -> Result<DrawView, ApiError> {
    let d: Option<(i64, DateTime<Utc>, i32, i32)> = sqlx::query_as(
        "select seed, drawn_at, applicants, winners from lottery_draws where course_id = $1",
    )
    .bind(course_id)
    .fetch_optional(tx.conn())
    .await?;
    let Some((seed, drawn_at, applicants, winners)) = d else {
        return Err(ApiError::new(
            ErrorKind::NotFound,
            "NOT_DRAWN",
            "该课程尚未抽签",
            json!({ "course_id": course_id }),
        ));
    };
    let order: Vec<(i64, i64, String)> = sqlx::query_as(
        "select position, student_id, status from waitlist
         where course_id = $1 and position > 0 order by position",
    )
    .bind(course_id)
    .fetch_all(tx.conn())
    .await?;
    Ok(DrawView {
        course_id,
        seed,
        drawn_at,
        applicants,
        winners,
        order: order
            .into_iter()
            .map(|(position, student_id, status)| super::model::DrawEntry {
                position,
                student_id,
                status,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draw_replays_from_its_seed_and_is_a_permutation() {
        let apps: Vec<i64> = (1..=50).collect();
        let a = draw_order(&apps, 20261130);
        assert_eq!(a, draw_order(&apps, 20261130));
        assert_ne!(a, draw_order(&apps, 20261131));
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, apps);
    }

    #[test]
    fn every_applicant_wins_first_place_about_equally_often() {
        let apps: Vec<i64> = (0..4).collect();
        let mut first = [0u32; 4];
        for seed in 0..4000u64 {
            first[draw_order(&apps, seed)[0] as usize] += 1;
        }
        for n in first {
            assert!((850..=1150).contains(&n), "{first:?}");
        }
    }
}
