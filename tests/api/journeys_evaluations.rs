//! Evaluation journey in a real browser (issue #17; R-P15): a parent rates the child's
//! course on the phone (no score is refused next to it), edits it, and the admin sees the
//! score and the comment in the console.

use crate::attendance::teacher_of;
use crate::browser::Browser;
use crate::fixtures::school_with_families;

const ADMIN_PHONE: &str = "13712340051";

#[tokio::test]
async fn a_parent_rates_a_course_on_the_phone_and_the_admin_sees_it() {
    // Arrange: child 0 attends 游泳
    let (app, fam, swim) = school_with_families(1, 5).await;
    app.paid(&fam[0].1, fam[0].0, swim, "journey-eval-0001")
        .await;
    teacher_of(&app, &[swim], "T561", 561, "13800138561").await;
    let mut b = Browser::start("evaluations_parent_admin", &app.address).await;

    // The parent: no score is refused; then 4 分 with a comment; then edited to 5 分.
    b.sign_in_first_parent().await;
    b.click("#evaluations-link").await;
    b.fill(&format!("#content-{swim}"), "老师很耐心").await;
    b.click(&format!("#rate-submit-{swim}")).await;
    let err = b
        .find(&format!("#score-{swim}-error"))
        .await
        .text()
        .await
        .unwrap();
    assert!(err.contains("1 到 5 分"), "{err}");
    assert_eq!(
        app.count("select count(*) from school_sqsf.course_evaluations")
            .await,
        0
    );
    b.click(&format!("#score-{swim}-4")).await;
    b.click(&format!("#rate-submit-{swim}")).await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("评价已提交"), "{done}");
    let card = b.text(&format!("#course-{swim}")).await;
    assert!(card.contains("已评价 4 分"), "{card}");
    b.click(&format!("#score-{swim}-5")).await;
    b.click(&format!("#rate-submit-{swim}")).await;
    b.find("#done").await;
    assert!(b
        .text(&format!("#course-{swim}"))
        .await
        .contains("已评价 5 分"));
    assert_eq!(
        app.count("select count(*) from school_sqsf.course_evaluations where score = 5")
            .await,
        1
    );
    b.shot("parent-evaluation").await;
    b.sign_out().await;

    // The admin's summary.
    b.sign_in_school_admin(&app, ADMIN_PHONE).await;
    b.click_link("课程评价").await;
    let row = b.find("#course-scores").await.text().await.unwrap();
    assert!(
        row.contains("游泳") && row.contains("5.0") && row.contains("老师很耐心"),
        "{row}"
    );
    let teachers = b.find("#teacher-scores").await.text().await.unwrap();
    assert!(teachers.contains("老师T561"), "{teachers}");
    b.shot("console-evaluations").await;
    b.close().await;
}
