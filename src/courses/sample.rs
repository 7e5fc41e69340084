//! Published offerings of the demo school, so the demo parent has something to book the
//! moment `afterschool demo` starts: noon and evening custody (per served day), two clubs
//! and a series course with two sub-items. Created and published through the same service
//! calls as the admin's API (so every rule and audit record applies); never run on a school
//! that already has courses.

use chrono::{DateTime, Duration, Utc};

use super::error::CourseError;
use super::model::{CourseClassType, CoursePricing, NewCourse};
use super::{repo, service};
use crate::auth::model::{Assignment, AuthContext, Role};
use crate::kernel::actor::Actor;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::tenancy::model::TenantContext;

struct Offer {
    code: &'static str,
    parent: Option<&'static str>,
    class_type: CourseClassType,
    name: &'static str,
    category: &'static str,
    intro: &'static str,
    venue: &'static str,
    weekdays: &'static [i16],
    times: (&'static str, &'static str),
    dates: Option<(&'static str, &'static str)>,
    capacity: i32,
    price: &'static str,
    levels: &'static [i16],
    teacher: &'static str,
}

const TERM: &str = "2026-autumn";

const OFFERS: &[Offer] = &[
    Offer {
        code: "noon-custody",
        parent: None,
        class_type: CourseClassType::Custody,
        name: "午托（午餐+午休）",
        category: "托管",
        intro: "校内午餐后在教室午休，由值班教师看护，按实际服务天数收费。",
        venue: "c101",
        weekdays: &[1, 2, 3, 4, 5],
        times: ("12:00", "14:00"),
        dates: None,
        capacity: 120,
        price: "15.00",
        levels: &[1, 2, 3, 4, 5, 6],
        teacher: "T002",
    },
    Offer {
        code: "evening-custody",
        parent: None,
        class_type: CourseClassType::Custody,
        name: "晚托（作业辅导）",
        category: "托管",
        intro: "放学后在校完成作业，教师答疑，家长 19:30 前接回。",
        venue: "c101",
        weekdays: &[1, 2, 3, 4, 5],
        times: ("18:00", "19:30"),
        dates: None,
        capacity: 80,
        price: "20.00",
        levels: &[1, 2, 3, 4, 5, 6],
        teacher: "T001",
    },
    Offer {
        code: "football",
        parent: None,
        class_type: CourseClassType::Training,
        name: "足球社团",
        category: "体育",
        intro: "每周二、四在田径场训练，学期末校内联赛。",
        venue: "field",
        weekdays: &[2, 4],
        times: ("16:30", "17:30"),
        dates: None,
        capacity: 30,
        price: "600.00",
        levels: &[3, 4, 5, 6],
        teacher: "T004",
    },
    Offer {
        code: "calligraphy",
        parent: None,
        class_type: CourseClassType::Training,
        name: "硬笔书法",
        category: "艺术",
        intro: "每周三一节，从握笔姿势到楷书章法。",
        venue: "art",
        weekdays: &[3],
        times: ("16:30", "17:30"),
        dates: None,
        capacity: 25,
        price: "480.00",
        levels: &[1, 2, 3, 4, 5, 6],
        teacher: "T005",
    },
    Offer {
        code: "science",
        parent: None,
        class_type: CourseClassType::Training,
        name: "科学探究（系列课）",
        category: "科学",
        intro: "两个单元：简单电路、星空观测；可整套报名，也可只报其中一个单元。",
        venue: "c101",
        weekdays: &[1, 5],
        times: ("16:30", "17:30"),
        dates: Some(("2026-12-07", "2027-01-15")),
        capacity: 30,
        price: "360.00",
        levels: &[3, 4, 5, 6],
        teacher: "T003",
    },
    Offer {
        code: "science-circuits",
        parent: Some("science"),
        class_type: CourseClassType::Training,
        name: "科学探究·简单电路",
        category: "科学",
        intro: "动手连接串联、并联电路。",
        venue: "c101",
        weekdays: &[1],
        times: ("16:30", "17:30"),
        dates: Some(("2026-12-07", "2027-01-11")),
        capacity: 30,
        price: "180.00",
        levels: &[3, 4, 5, 6],
        teacher: "T003",
    },
    Offer {
        code: "science-stars",
        parent: Some("science"),
        class_type: CourseClassType::Training,
        name: "科学探究·星空观测",
        category: "科学",
        intro: "认识冬季星座，学习使用天文望远镜。",
        venue: "c101",
        weekdays: &[5],
        times: ("16:30", "17:30"),
        dates: Some(("2026-12-11", "2027-01-15")),
        capacity: 30,
        price: "180.00",
        levels: &[3, 4, 5, 6],
        teacher: "T003",
    },
];

/// Creates and publishes [`OFFERS`] in `tenant` as the school admin `admin_account`, with
/// registration open from a day before `now` to early January. Returns how many courses
/// it created (0 when the school already has courses or lacks the demo staff).
pub async fn seed_demo(
    st: &Ctx,
    tenant: &TenantContext,
    admin_account: i64,
    now: DateTime<Utc>,
) -> Result<usize, CourseError> {
    let auth = AuthContext {
        account_id: admin_account,
        session_id: 0,
        display_name: "演示学校管理员".into(),
        assignments: vec![Assignment {
            id: 0,
            role: Role::SchoolAdmin,
            tenant_id: Some(tenant.id),
        }],
        mfa_passed: true,
        totp_enabled: true,
        password_expired: false,
        source_ip: None,
    };
    let who = Actor { st, auth: &auth };
    let mut tx = TenantTx::begin(&st.db_app, tenant).await?;
    if repo::course_count(tx.conn()).await? > 0 {
        return Ok(0);
    }
    let opens = (now - Duration::days(1)).to_rfc3339();
    let mut parents = Vec::new();
    for o in OFFERS {
        let teacher = repo::staff_by_no(tx.conn(), o.teacher).await?;
        let venue = repo::venue_by_code(tx.conn(), o.venue).await?;
        let Some(teacher) = teacher else {
            return Ok(0);
        };
        let course = service::create(
            &mut tx,
            &who,
            NewCourse {
                code: o.code.into(),
                class_type: o.class_type,
                name: o.name.into(),
                category: o.category.into(),
                intro: o.intro.into(),
                term_code: TERM.into(),
                period_id: None,
                venue_id: venue,
                weekdays: o.weekdays.to_vec(),
                starts_at: o.times.0.into(),
                ends_at: o.times.1.into(),
                starts_on: o.dates.map(|d| d.0.into()),
                ends_on: o.dates.map(|d| d.1.into()),
                capacity: o.capacity,
                price: o.price.into(),
                pricing: match o.class_type {
                    CourseClassType::Custody => CoursePricing::PerDay,
                    CourseClassType::Training => CoursePricing::PerCourse,
                },
                eligible_levels: o.levels.to_vec(),
                reg_opens_at: opens.clone(),
                reg_closes_at: "2027-01-08T18:00:00+08:00".into(),
                allocation: None,
                hold_minutes: None,
                teacher_ids: vec![teacher],
                parent_code: o.parent.map(Into::into),
            },
        )
        .await?;
        if o.parent.is_none() {
            parents.push(course.id);
        }
    }
    // Publishing a series publishes its sub-items with it.
    for id in &parents {
        service::publish(&mut tx, &who, *id).await?;
    }
    tx.commit().await?;
    Ok(OFFERS.len())
}
