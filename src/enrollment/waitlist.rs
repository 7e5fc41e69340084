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

use super::error::EnrollmentError;
use super::model::{DrawEntry, DrawView, WaitlistStatus, WaitlistView};
use super::repo::{self, waitlist as line};
use super::service::{self, own_child};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::courses::lookup as courses;
use crate::courses::model::CourseAllocation;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::tenancy::model::TenantContext;

/// Offers free seats of `course` to the line, first come (or first drawn) first. Returns
/// the enrollments made.
pub async fn promote(
    c: &mut PgConnection,
    course: i64,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, EnrollmentError> {
    let Some(hold) = line::hold_minutes(c, course).await? else {
        return Ok(Vec::new());
    };
    let mut made = Vec::new();
    while let Some((wid, student, by)) = line::next_waiting(c, course).await? {
        if !repo::take_seat(c, course).await? {
            break;
        }
        let expires = now + Duration::minutes(i64::from(hold));
        match repo::insert_hold(c, course, student, expires, by, now).await? {
            Some(eid) => {
                line::mark_offered(c, wid, eid, now).await?;
                made.push(eid);
            }
            None => {
                // Booked meanwhile by other means: out of the line, seat back.
                repo::give_seat_back(c, course).await?;
                line::mark_left(c, wid, now).await?;
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
) -> Result<bool, EnrollmentError> {
    let expired = repo::expire_stale_holds(c, course, now).await?;
    if !expired.is_empty() {
        line::expire_offers(c, &expired, now).await?;
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
) -> Result<usize, EnrollmentError> {
    let mut tx = TenantTx::begin(pool, tenant).await?;
    let courses = line::courses_with_stale_holds(tx.conn(), now).await?;
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
        let tenants = match crate::tenancy::lookup::active_schools(&st.db_app).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "sweeper: tenant list failed");
                continue;
            }
        };
        for ctx in &tenants {
            if let Err(e) = sweep(&st.db_app, ctx, st.clock.now()).await {
                tracing::warn!(tenant = %ctx.code, error = %e, "sweeper: sweep failed");
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
) -> Result<WaitlistView, EnrollmentError> {
    let now = st.clock.now();
    let (student, _, level) = own_child(tx, auth, student_id).await?;
    let course = courses::course_for_booking(tx.conn(), course_id)
        .await?
        .ok_or(EnrollmentError::CourseNotFound { course_id })?;
    service::check_bookable(&course, level, now)?;
    let lottery = course.course_allocation() == CourseAllocation::Lottery;
    if !lottery {
        expire_and_promote(tx.conn(), course.id, now).await?;
        if line::seat_free(tx.conn(), course.id).await? {
            return Err(EnrollmentError::WaitlistNotNeeded {
                course_id: course.id,
                name: course.name,
            });
        }
    }
    let status = if lottery {
        WaitlistStatus::Applied
    } else {
        WaitlistStatus::Waiting
    };
    let inserted =
        line::insert(tx.conn(), course.id, student, status, auth.account_id, now).await?;
    let Some(id) = inserted else {
        return Err(EnrollmentError::WaitlistDuplicate {
            course_id: course.id,
            name: course.name,
        });
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
    let ahead = line::ahead(tx.conn(), course.id, id).await?;
    Ok(WaitlistView {
        id,
        course_id: course.id,
        course_name: course.name,
        student_id: student,
        status: status.as_str().into(),
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
) -> Result<Vec<WaitlistView>, EnrollmentError> {
    let (student, _, _) = own_child(tx, auth, student_id).await?;
    let _ = st;
    let rows = line::of_student(tx.conn(), student).await?;
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
) -> Result<DrawView, EnrollmentError> {
    let now = st.clock.now();
    let course = courses::course_for_booking(tx.conn(), course_id)
        .await?
        .ok_or(EnrollmentError::CourseNotFound { course_id })?;
    if course.course_allocation() != CourseAllocation::Lottery {
        return Err(EnrollmentError::NotALottery);
    }
    if now < course.reg_closes_at {
        return Err(EnrollmentError::DrawTooEarly {
            closes_at: course.reg_closes_at,
        });
    }
    let seed = seed.unwrap_or_else(rand::random::<i64>);
    if !line::insert_draw(tx.conn(), course.id, seed, now, auth.account_id).await? {
        return Err(EnrollmentError::AlreadyDrawn {
            course_id: course.id,
        });
    }
    let apps = line::applications(tx.conn(), course.id).await?;
    let order = draw_order(&apps, seed as u64);
    let positions: Vec<i64> = (1..=order.len() as i64).collect();
    line::set_positions(tx.conn(), &order, &positions, now).await?;
    let offers = promote(tx.conn(), course.id, now).await?;
    line::set_draw_counts(
        tx.conn(),
        course.id,
        order.len() as i32,
        offers.len() as i32,
    )
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
pub async fn draw_result(tx: &mut TenantTx, course_id: i64) -> Result<DrawView, EnrollmentError> {
    let Some((seed, drawn_at, applicants, winners)) = line::draw(tx.conn(), course_id).await?
    else {
        return Err(EnrollmentError::NotDrawn { course_id });
    };
    let order = line::drawn_places(tx.conn(), course_id).await?;
    Ok(DrawView {
        course_id,
        seed,
        drawn_at,
        applicants,
        winners,
        order: order
            .into_iter()
            .map(|(position, student_id, status)| DrawEntry {
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
