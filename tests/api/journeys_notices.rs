//! Notice journeys in a real browser (issue #17; R-T01, R-P01): a homeroom teacher writes a
//! notice on the phone (an empty title is refused next to it), adds a picture and publishes
//! it to their class; the parent sees it unread on the home page, reads it with its picture;
//! the teacher sees it read; the school admin sees it in the console, sends one to the whole
//! school and withdraws it.

use crate::browser::Browser;
use crate::fixtures::{demo_with_families, homeroom, PNG_1X1};
use crate::helpers::PASSWORD;

const ADMIN_PHONE: &str = "13712340031";
const TEACHER_PHONE: &str = "13800138831";

#[tokio::test]
async fn a_teacher_publishes_a_class_notice_with_a_picture_and_the_parent_reads_it() {
    // Arrange: child 0 in 一年级1班 with its homeroom teacher; child 1 in 三年级2班
    let (app, _fam) = demo_with_families(2).await;
    let admin = app.admin_token("sqsf").await;
    homeroom(&app, &admin, "一年级1班", "T831", 831, TEACHER_PHONE).await;
    let class: i64 =
        sqlx::query_scalar("select id from school_sqsf.classes where name = '一年级1班'")
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("合影.png");
    std::fs::write(&png, PNG_1X1).unwrap();
    let mut b = Browser::start("notices_teacher_parent", &app.address).await;

    // The teacher writes on the phone; an empty title is refused next to it.
    b.sign_in(TEACHER_PHONE, PASSWORD).await;
    b.click("#notices-link").await;
    b.click("#new-notice").await;
    assert!(
        !b.exists("#audience-school").await,
        "a teacher cannot address the school"
    );
    b.fill("#body", "明天体育课后服务请带跳绳。").await;
    b.click(&format!("#class-{class}")).await;
    b.click("#notice-submit").await;
    let err = b.find("#title-error").await.text().await.unwrap();
    assert!(err.contains("标题不能为空"), "{err}");
    assert_eq!(
        app.count("select count(*) from school_sqsf.notices").await,
        0
    );
    b.fill("#title", "明天带跳绳").await;
    b.click("#notice-submit").await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("草稿已保存"), "{done}");
    b.find("#picture-file")
        .await
        .send_keys(png.to_str().unwrap())
        .await
        .unwrap();
    b.click("#picture-submit").await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("图片已添加"), "{done}");
    b.find("#notice-pictures img").await;
    b.shot("teacher-draft").await;
    b.click("#publish").await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("已发布"), "{done}");
    let count = b.find("#read-count").await.text().await.unwrap();
    assert!(count.contains("已读 0 / 1"), "{count}");
    b.sign_out().await;

    // The parent of 一年级1班 sees it unread on the home page and reads it.
    b.sign_in_first_parent().await;
    let unread = b.find("#unread-notices").await.text().await.unwrap();
    assert!(unread.contains("1 条未读"), "{unread}");
    b.click("#notices-link").await;
    let list = b.find("#notices").await.text().await.unwrap();
    assert!(
        list.contains("明天带跳绳") && list.contains("未读"),
        "{list}"
    );
    b.click(".notice-item a").await;
    let title = b.find("#notice-title").await.text().await.unwrap();
    assert_eq!(title, "明天带跳绳");
    assert!(b.text("#notice-text").await.contains("请带跳绳"));
    let img = b.find("#notice-pictures img").await;
    let src = img.attr("src").await.unwrap().unwrap();
    let r = b.fetch(&app, &src).await;
    assert_eq!(r.status(), 200, "{src}");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG_1X1);
    b.shot("parent-notice").await;
    b.click("#back-to-notices").await;
    assert!(!b.text("#notices").await.contains("未读"));
    b.sign_out().await;

    // The other parent has nothing.
    b.sign_in(&(crate::fixtures::FIRST_PHONE + 1).to_string(), PASSWORD)
        .await;
    b.goto("/t/sqsf/m/notices").await;
    b.find("#no-notices").await;
    b.sign_out().await;

    // The teacher sees it read.
    b.sign_in(TEACHER_PHONE, PASSWORD).await;
    b.click("#notices-link").await;
    let row = b.find(".notice-item").await.text().await.unwrap();
    assert!(row.contains("已读 1/1"), "{row}");
    b.sign_out().await;

    // The admin sees the school's notices in the console, sends one to every parent and
    // withdraws it.
    b.sign_in_school_admin(&app, ADMIN_PHONE).await;
    b.click_link("通知公告").await;
    let table = b.find("#notices").await.text().await.unwrap();
    assert!(
        table.contains("明天带跳绳") && table.contains("班主任"),
        "{table}"
    );
    b.click("#new-notice").await;
    b.fill("#title", "元旦放假通知").await;
    b.fill("#body", "1月1日至3日放假，课后服务暂停。").await;
    b.click("#audience-school").await;
    b.click("#notice-submit").await;
    b.find("#done").await;
    b.click("#publish").await;
    let count = b.find("#read-count").await.text().await.unwrap();
    assert!(count.contains("已读 0 / 2"), "{count}");
    b.click("#withdraw").await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("已撤回"), "{done}");
    assert_eq!(
        app.count("select count(*) from school_sqsf.notices where status = 'withdrawn'")
            .await,
        1
    );
    assert_eq!(
        app.count(
            "select count(*) from platform.outbox where kind = 'notify.message'
             and idem_key like 'notify:school_notice:%'"
        )
        .await,
        3,
        "one parent for the class notice, two for the school's"
    );
    b.shot("console-notices").await;
    b.close().await;
}
