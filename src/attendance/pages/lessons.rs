//! Lesson records and comments on the teacher's roll page (R-T07): what the session
//! covered with its photos, and a comment per child; and the parent's lessons of a child on
//! the phone (`/m/lessons`, R-P10). The same service calls and permissions as the API's
//! `…/record`, `…/comments/:student` and `/school/children/:id/lessons`.

use chrono::NaiveDate;
use maud::{html, Markup};
use poem::http::header;
use poem::web::{Multipart, Path, Query};
use poem::{get, handler, post, Response, Route};

use super::teacher::{parse_day, roll_form, BASE};
use crate::attendance::lessons as svc;
use crate::attendance::model::*;
use crate::attendance::perms::*;
use crate::enrollment::pages::parent::{child_switcher, family, ChildQuery};
use crate::web::forms::{actor, is_domain_refusal, FormError, Posted};
use crate::web::frame::{page, PageResult};
use crate::web::layout::{self, when};
use crate::web::session::{see_other, Web};

const PARENT: &str = "/m/lessons";

pub fn mount(r: Route) -> Route {
    r.at(format!("{BASE}/:course/:day/record"), post(record_save))
        .at(
            format!("{BASE}/:course/:day/record/pictures"),
            post(picture_add),
        )
        .at(
            format!("{BASE}/:course/:day/record/pictures/:n"),
            get(staff_picture),
        )
        .at(
            format!("{BASE}/:course/:day/comments/:student"),
            post(comment_save),
        )
        .at(PARENT, get(parent_lessons))
        .at(
            format!("{PARENT}/:student/:course/:day/pictures/:n"),
            get(parent_picture),
        )
}

/// The record and comment forms under the roll.
pub(super) fn section(
    web: &Web,
    course: i64,
    day: NaiveDate,
    record: Option<&LessonRecordView>,
    comments: &[CommentView],
    roll: &[RollEntry],
) -> Markup {
    let base = format!("{BASE}/{course}/{day}");
    html! {
        h2 { "课堂记录" }
        form.stack method="post" action=(web.post_url(&format!("{base}/record"))) id="record-form" {
            textarea id="record-content" name="content" rows="4" maxlength="2000" placeholder="本节课的内容，如 学习自由泳换气，分组练习 20 分钟" {
                @if let Some(r) = record { (r.content) }
            }
            button type="submit" id="record-submit" { "保存课堂记录" }
        }
        @if let Some(r) = record {
            @if !r.pictures.is_empty() {
                div.pictures #record-pictures {
                    @for n in 1..=r.pictures.len() {
                        img src=(web.link(&format!("{base}/record/pictures/{n}"))) alt={ "课堂照片" (n) } loading="lazy";
                    }
                }
            }
            form.inline method="post" enctype="multipart/form-data" action=(web.post_url(&format!("{base}/record/pictures"))) id="record-picture-form" {
                input type="file" name="file" id="record-picture" accept="image/jpeg,image/png,image/webp";
                " "
                button.secondary type="submit" id="record-picture-submit" { "上传课堂照片" }
            }
        }
        h2 { "点评学生" }
        @for st in roll {
            @let c = comments.iter().find(|c| c.student_id == st.student_id);
            form.stack.comment method="post" action=(web.post_url(&format!("{base}/comments/{}", st.student_id))) id={ "comment-form-" (st.student_id) } {
                strong { (st.name) }
                input type="text" name="tags" id={ "tags-" (st.student_id) } placeholder="标签，用逗号分隔，如 专注，进步明显" value=[c.map(|c| c.tags.join("，"))];
                input type="text" name="content" id={ "comment-" (st.student_id) } maxlength="500" placeholder="点评（可不填）" value=[c.map(|c| c.content.clone())];
                button.secondary type="submit" id={ "comment-submit-" (st.student_id) } { "保存点评" }
            }
        }
    }
}

fn back(web: &Web, course: i64, day: NaiveDate, done: &str) -> Response {
    see_other(&web.link(&format!("{BASE}/{course}/{day}?done={done}")))
}

#[handler]
async fn record_save(
    web: Web,
    Path((course, day)): Path<(i64, String)>,
    body: String,
) -> PageResult {
    let day = parse_day(&day)?;
    let f = Posted::parse(&body);
    let input = LessonRecordInput {
        content: f.get("content").to_string(),
    };
    let mut tx = web.school_tx(&LESSON_RECORD).await?;
    match svc::set_record(&mut tx, &actor(&web), course, day, &input).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(back(&web, course, day, "recorded"))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            roll_form(&web, course, day, None, Some(&FormError::from_domain(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

#[handler]
async fn picture_add(
    web: Web,
    Path((course, day)): Path<(i64, String)>,
    mut form: Multipart,
) -> PageResult {
    let day = parse_day(&day)?;
    let mut tx = web.school_tx(&LESSON_PICTURE_ADD).await?;
    let upload = match crate::courses::pages::read_upload(&mut form).await {
        Ok(u) => u,
        Err(fe) => {
            drop(tx);
            return roll_form(&web, course, day, None, Some(&fe)).await;
        }
    };
    match svc::add_picture(&mut tx, &actor(&web), course, day, upload).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(back(&web, course, day, "photo"))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            roll_form(&web, course, day, None, Some(&FormError::from_domain(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

#[handler]
async fn comment_save(
    web: Web,
    Path((course, day, student)): Path<(i64, String, i64)>,
    body: String,
) -> PageResult {
    let day = parse_day(&day)?;
    let f = Posted::parse(&body);
    let input = CommentInput {
        tags: f
            .get("tags")
            .split([',', '，', '、', ' '])
            .map(str::to_string)
            .collect(),
        content: f.get("content").to_string(),
    };
    let mut tx = web.school_tx(&LESSON_COMMENT).await?;
    match svc::comment(&mut tx, &actor(&web), course, day, student, &input).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(back(&web, course, day, "commented"))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            roll_form(&web, course, day, None, Some(&FormError::from_domain(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

fn picture_response(obj: crate::storage::StoredObject) -> Response {
    Response::builder()
        .content_type(obj.content_type.as_str())
        .header("x-content-type-options", "nosniff")
        .header(header::CACHE_CONTROL, "private, max-age=300")
        .body(obj.body.to_vec())
}

#[handler]
async fn staff_picture(web: Web, Path((course, day, n)): Path<(i64, String, usize)>) -> PageResult {
    let day = parse_day(&day)?;
    let mut tx = web.school_tx(&LESSON_PICTURE).await?;
    let obj = svc::picture(&mut tx, &actor(&web), course, day, n, None).await?;
    tx.commit().await?;
    Ok(picture_response(obj))
}

#[handler]
async fn parent_picture(
    web: Web,
    Path((student, course, day, n)): Path<(i64, i64, String, usize)>,
) -> PageResult {
    let day = parse_day(&day)?;
    let mut tx = web.school_tx(&CHILD_LESSON_PICTURE).await?;
    let obj = svc::picture(&mut tx, &actor(&web), course, day, n, Some(student)).await?;
    tx.commit().await?;
    Ok(picture_response(obj))
}

#[handler]
async fn parent_lessons(web: Web, Query(q): Query<ChildQuery>) -> PageResult {
    let fam = match family(&web, q.child).await? {
        Ok(f) => f,
        Err(other) => return Ok(other),
    };
    let child = fam.child();
    let mut tx = web.school_tx(&CHILD_LESSONS).await?;
    let lessons = svc::of_child(&mut tx, &actor(&web), child.id).await?;
    tx.commit().await?;
    page(layout::mobile(
        &web,
        "课堂记录",
        "/m",
        html! {
            (child_switcher(&web, &fam.list, child, PARENT))
            @if lessons.is_empty() { p.muted #no-lessons { "还没有课堂记录和老师点评" } }
            @for l in &lessons {
                div.card.lesson id={ "lesson-" (l.course_id) "-" (l.day) } {
                    div.row {
                        strong { (l.course_name) }
                        small.muted { (l.day) @if let Some(m) = &l.mark_label { " · " (m) } }
                    }
                    @if let Some(r) = &l.record {
                        p.record style="white-space:pre-wrap" { (r.content) }
                        @if !r.pictures.is_empty() {
                            div.pictures {
                                @for n in 1..=r.pictures.len() {
                                    img src=(web.link(&format!("{PARENT}/{}/{}/{}/pictures/{n}", child.id, l.course_id, l.day))) alt={ "课堂照片" (n) } loading="lazy";
                                }
                            }
                        }
                    }
                    @if let Some(c) = &l.comment {
                        div.comment {
                            "老师点评："
                            @for t in &c.tags { span.tag { (t) } " " }
                            (c.content)
                            " " small.muted { (when(c.written_at)) }
                        }
                    }
                }
            }
        },
    ))
}
