//! The typed test client (zero-to-production's `TestApp` methods): one copy of each call
//! the tests make to 石岐示范小学 (sqsf), the demo school they run in, and of the database
//! reads they check the answers against.
//!
//! Every API answer goes through [`answer`], so each is checked against the OpenAPI
//! document (issue 13.17). Requests here act as a client would, through the API and its
//! rules; the reads (`count`, `enrollment_status`, ...) are the assertions' independent view
//! of the database, as its owner. Nothing here writes the database behind the product's
//! back: fixtures that must do so live in `fixtures.rs` and say why.

use std::time::Duration;

use reqwest::multipart::{Form, Part};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

use crate::helpers::{answer, spawn_app, TestApp};

/// The API of sqsf.
pub const SQSF_API: &str = "/t/sqsf/api/v1";

/// The demo street with a signed-in school admin of sqsf: (app, the admin's token).
pub async fn spawn_demo() -> (TestApp, String) {
    let app = spawn_app().await;
    app.apply_demo().await;
    let admin = app.admin_token("sqsf").await;
    (app, admin)
}

/// Asserts the answer is `status` with error `code`.
pub fn refused(answer: &(u16, Value), status: u16, code: &str) {
    refused_as(answer, status, code, "refused");
}

/// As [`refused`], naming the case `what` when it fails.
pub fn refused_as(answer: &(u16, Value), status: u16, code: &str, what: &str) {
    assert_eq!(
        (answer.0, answer.1["code"].as_str()),
        (status, Some(code)),
        "{what}: {}",
        answer.1
    );
}

impl TestApp {
    // --- requests ---------------------------------------------------------------------------

    /// A request to `path` on this app, with the bearer `token` when given.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let req = self
            .client
            .request(method, format!("{}{path}", self.address));
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// `method` on sqsf's school API (`path` is what follows `/t/sqsf/api/v1/school`) as
    /// `token`: the status and the JSON answer.
    pub async fn school(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.send_json(
            method,
            Some(token),
            &format!("{SQSF_API}/school{path}"),
            body,
        )
        .await
    }

    /// GET on the school API.
    pub async fn school_get(&self, token: &str, path: &str) -> (u16, Value) {
        self.school(Method::GET, token, path, None).await
    }

    /// POST of a JSON body on the school API.
    pub async fn school_post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.school(Method::POST, token, path, Some(body)).await
    }

    /// PATCH of a JSON body on the school API.
    pub async fn school_patch(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.school(Method::PATCH, token, path, Some(body)).await
    }

    /// PUT of a JSON body on the school API.
    pub async fn school_put(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.school(Method::PUT, token, path, Some(body)).await
    }

    /// DELETE on the school API.
    pub async fn school_delete(&self, token: &str, path: &str) -> (u16, Value) {
        self.school(Method::DELETE, token, path, None).await
    }

    /// A GET on the school API that must answer 200; its body.
    pub async fn school_ok(&self, token: &str, path: &str) -> Value {
        let (status, body) = self.school_get(token, path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// `part` sent as the multipart field `file`: the status and the JSON answer.
    pub async fn send_file(
        &self,
        method: Method,
        token: &str,
        path: &str,
        part: Part,
    ) -> (u16, Value) {
        let method_name = method.to_string();
        let r = self
            .request(method, path, Some(token))
            .multipart(Form::new().part("file", part))
            .send()
            .await
            .expect("upload");
        answer(&method_name, path, r).await
    }

    // --- people -----------------------------------------------------------------------------

    /// Uploads a file to the bulk import (`kind`: students, staff, ...).
    pub async fn upload(
        &self,
        token: &str,
        kind: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> (u16, Value) {
        let part = Part::bytes(bytes).file_name(name.to_string());
        let path = format!("{SQSF_API}/school/imports?kind={kind}");
        self.send_file(Method::POST, token, &path, part).await
    }

    /// Uploads and waits for the import job to end; the final job.
    pub async fn import(&self, token: &str, kind: &str, name: &str, bytes: Vec<u8>) -> Value {
        let (status, job) = self.upload(token, kind, name, bytes).await;
        assert_eq!(status, 200, "{job}");
        let id = job["id"].as_str().expect("job id").to_string();
        for _ in 0..600 {
            let j = self.school_ok(token, &format!("/imports/{id}")).await;
            if j["status"] != "running" {
                return j;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("import {id} did not finish");
    }

    /// A staff member created through the API from `body`; the staff id.
    pub async fn create_staff(&self, admin: &str, body: Value) -> i64 {
        let (s, b) = self.school(Method::POST, admin, "/staff", Some(body)).await;
        assert_eq!(s, 200, "{b}");
        b["id"].as_i64().expect("staff id")
    }

    /// Makes staff member `staff` the homeroom teacher of the class named `class`.
    pub async fn set_homeroom(&self, admin: &str, class: &str, staff: i64) {
        let class = self.class_id(class).await;
        let (s, b) = self
            .school(
                Method::PUT,
                admin,
                &format!("/classes/{class}/homeroom"),
                Some(json!({ "staff_id": staff })),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }

    // --- courses ----------------------------------------------------------------------------

    /// A course created by `admin`; the course as answered.
    pub async fn create_course(&self, admin: &str, body: Value) -> Value {
        let (s, out) = self
            .school(Method::POST, admin, "/courses", Some(body))
            .await;
        assert_eq!(s, 200, "{out}");
        out
    }

    /// Publishes course `id` (draft → published); the course as answered.
    pub async fn publish_course(&self, admin: &str, id: i64) -> Value {
        let (s, c) = self
            .school(Method::POST, admin, &format!("/courses/{id}/publish"), None)
            .await;
        assert_eq!(s, 200, "{c}");
        c
    }

    /// Makes `teachers` the teachers of course `course`.
    pub async fn set_teachers(&self, admin: &str, course: i64, teachers: &[i64]) {
        let body = json!({ "teacher_ids": teachers });
        let (s, c) = self
            .school(
                Method::PATCH,
                admin,
                &format!("/courses/{course}"),
                Some(body),
            )
            .await;
        assert_eq!(s, 200, "{c}");
    }

    /// Adds a picture to course `course`.
    pub async fn put_picture(
        &self,
        token: &str,
        course: i64,
        bytes: Vec<u8>,
        name: &str,
        mime: &str,
    ) -> (u16, Value) {
        let part = Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str(mime)
            .expect("mime type");
        let path = format!("{SQSF_API}/school/courses/{course}/pictures");
        self.send_file(Method::PUT, token, &path, part).await
    }

    // --- enrollment -------------------------------------------------------------------------

    /// The parent books `course` for their child `student`.
    pub async fn book(&self, parent: &str, student: i64, course: i64) -> (u16, Value) {
        let body = json!({ "student_id": student, "course_id": course });
        self.school(Method::POST, parent, "/enrollments", Some(body))
            .await
    }

    /// A booking that must succeed; the held enrollment's id.
    pub async fn booked(&self, parent: &str, student: i64, course: i64) -> i64 {
        let (s, b) = self.book(parent, student, course).await;
        assert_eq!(s, 200, "{b}");
        b[0]["id"].as_i64().expect("enrollment id")
    }

    /// The parent puts their child `student` in line for a full `course`.
    pub async fn join_waitlist(&self, parent: &str, student: i64, course: i64) -> (u16, Value) {
        let body = json!({ "student_id": student, "course_id": course });
        self.school(Method::POST, parent, "/waitlist", Some(body))
            .await
    }

    /// The school records the payment of a held enrollment made at its office.
    pub async fn confirm(&self, admin: &str, enrollment: i64) {
        let (s, b) = self
            .school(
                Method::POST,
                admin,
                &format!("/enrollments/{enrollment}/confirm"),
                Some(json!({})),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }

    // --- payments ---------------------------------------------------------------------------

    /// An H5 order for the parent's held `enrollments`.
    pub async fn order(&self, token: &str, enrollments: &[i64], key: &str) -> (u16, Value) {
        let body =
            json!({ "enrollment_ids": enrollments, "channel": "h5", "idempotency_key": key });
        self.school(Method::POST, token, "/payments/orders", Some(body))
            .await
    }

    /// Pays at the simulated cashier (the page's 确认支付 button).
    pub async fn pay_at_cashier(&self, h5_url: &str) {
        let prepay = h5_url.split("prepay_id=").nth(1).expect("prepay_id");
        let r = self
            .request(Method::POST, "/sim/wxpay/cashier", None)
            .form(&[("prepay_id", prepay), ("action", "pay")])
            .send()
            .await
            .expect("cashier");
        assert_eq!(r.status(), 200);
    }

    /// A paid booking, as a parent's phone makes it: booked, ordered, paid at the cashier,
    /// confirmed by the callback. Returns (enrollment, order id, line id).
    pub async fn paid(&self, token: &str, student: i64, course: i64, key: &str) -> (i64, i64, i64) {
        let e = self.booked(token, student, course).await;
        let (s, o) = self.order(token, &[e], key).await;
        assert_eq!(s, 200, "{o}");
        self.pay_at_cashier(o["pay"]["h5_url"].as_str().expect("h5_url"))
            .await;
        let id = o["id"].as_i64().expect("order id");
        self.until_order(id, "paid").await;
        (e, id, o["lines"][0]["id"].as_i64().expect("line id"))
    }

    /// The school admin refunds `amount` of an order line (all that is left: `None`).
    pub async fn refund(
        &self,
        admin: &str,
        line: i64,
        amount: Option<&str>,
        reason: &str,
    ) -> (u16, Value) {
        let body = json!({ "line_id": line, "amount": amount, "reason": reason });
        self.school(Method::POST, admin, "/payments/refunds", Some(body))
            .await
    }

    /// The parent's own orders, newest first.
    pub async fn my_orders(&self, token: &str) -> Value {
        self.school_ok(token, "/payments/orders/mine").await
    }

    /// Waits (real time) until the order reaches `status`.
    pub async fn until_order(&self, id: i64, status: &str) {
        for _ in 0..100 {
            if self.order_status(id).await == status {
                return;
            }
            let _ = self.sim_control(json!({ "deliver_due": true })).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "order {id} never became {status}: {}",
            self.order_status(id).await
        );
    }

    /// Lets the simulator complete refunds (moving the clock past its delay) until the
    /// line's refund reaches `status`; the last status seen.
    pub async fn until_refund(&self, line: i64, status: &str) -> String {
        let mut seen = String::new();
        for _ in 0..100 {
            let _ = self.sim_control(json!({ "deliver_due": true })).await;
            seen = self.refund_status(line).await;
            if seen == status {
                break;
            }
            self.clock.advance(chrono::Duration::seconds(10));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        seen
    }

    // --- reads ------------------------------------------------------------------------------

    /// A count (any `bigint` scalar) read as the database owner.
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.db.admin)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// As [`TestApp::count`], with one text parameter `$1`.
    pub async fn count_with(&self, sql: &str, arg: &str) -> i64 {
        sqlx::query_scalar(sql)
            .bind(arg)
            .fetch_one(&self.db.admin)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub async fn order_status(&self, id: i64) -> String {
        sqlx::query_scalar("select status from platform.payment_orders where id = $1")
            .bind(id)
            .fetch_one(&self.db.admin)
            .await
            .expect("order status")
    }

    pub async fn enrollment_status(&self, id: i64) -> String {
        sqlx::query_scalar("select status from school_sqsf.enrollments where id = $1")
            .bind(id)
            .fetch_one(&self.db.admin)
            .await
            .expect("enrollment status")
    }

    /// The status of the (one) refund of an order line.
    pub async fn refund_status(&self, line: i64) -> String {
        sqlx::query_scalar("select status from platform.refunds where line_id = $1")
            .bind(line)
            .fetch_one(&self.db.admin)
            .await
            .expect("refund status")
    }

    /// Seats taken of a course, from its counter row.
    pub async fn taken(&self, course: i64) -> i32 {
        sqlx::query_scalar("select taken from school_sqsf.course_seats where course_id = $1")
            .bind(course)
            .fetch_one(&self.db.admin)
            .await
            .expect("seats")
    }

    pub async fn class_id(&self, name: &str) -> i64 {
        sqlx::query_scalar("select id from school_sqsf.classes where name = $1")
            .bind(name)
            .fetch_one(&self.db.admin)
            .await
            .expect("class")
    }

    /// (object, details) of the successful `action` records in sqsf made by an account.
    pub async fn audit_records(&self, action: &str) -> Vec<(String, Value)> {
        sqlx::query_as(
            "select a.object, a.details from platform.audit_log a
             join platform.tenants t on t.id = a.tenant_id
             where a.action = $1 and a.outcome = 'success' and t.code = 'sqsf'
                   and a.actor_account_id is not null
             order by a.id",
        )
        .bind(action)
        .fetch_all(&self.db.admin)
        .await
        .expect("audit records")
    }
}
