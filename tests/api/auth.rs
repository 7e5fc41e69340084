//! Sign-in, sessions, second factor, lockout, rate limits, roles, consent and the audit
//! trail of it all (issue #3; R-X04 等保, R-X05).

use std::process::Command;

use afterschool::audit::{self, AuditFilter};
use afterschool::auth::model::Role;
use afterschool::auth::sms;
use afterschool::clock::Clock;
use afterschool::pii::Phone;
use chrono::Duration;
use serde_json::json;

use crate::client::spawn_demo;
use crate::helpers::{spawn_app, TestApp, PASSWORD};

async fn login(
    app: &TestApp,
    phone: &str,
    password: &str,
    totp: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut body = json!({ "phone": phone, "password": password });
    if let Some(t) = totp {
        body["totp_code"] = json!(t);
    }
    app.post_json(None, "/api/v1/auth/login", body).await
}

async fn audit_actions(app: &TestApp, prefix: &str) -> Vec<audit::AuditRecord> {
    audit::search(
        &app.db.admin,
        &AuditFilter {
            action_prefix: Some(prefix.into()),
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_teacher_signs_in_with_a_password_and_logout_revokes_the_session() {
    let app = spawn_app().await;
    app.apply_demo().await;
    app.sign_in_as("13800000001", Role::Teacher, Some("sqsf"))
        .await;

    let (status, body) = login(&app, "138-0000-0001", PASSWORD, None).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_string();
    assert_eq!(body["mfa_setup_required"], false);

    let (status, me) = app.get_json_as(&token, "/api/v1/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["roles"][0]["role"], "teacher");
    assert_eq!(me["roles"][0]["tenant_code"], "sqsf");
    let (status, _) = app.school_get(&token, "/classes").await;
    assert_eq!(status, 200);

    let (status, _) = app
        .post_json(Some(&token), "/api/v1/auth/logout", json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, body) = app.get_json_as(&token, "/api/v1/me").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("SESSION_EXPIRED"))
    );
    assert!(!audit_actions(&app, "auth.logout").await.is_empty());
    let logins = audit_actions(&app, "auth.login").await;
    assert!(logins
        .iter()
        .any(|r| r.outcome == audit::Outcome::Success && r.object == "138****0001"));
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_for_fifteen_minutes() {
    let app = spawn_app().await;
    app.apply_demo().await;
    app.sign_in_as("13800000002", Role::Teacher, Some("sqsf"))
        .await;

    for i in 0..5 {
        let (status, body) = login(&app, "13800000002", "Wrong#pass1", None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("LOGIN_FAILED")),
            "attempt {i}"
        );
    }
    // Issue 13.14: to someone without the password, a locked account answers exactly as
    // an unknown phone does, so lockouts cannot be used to find who has an account.
    let locked_wrong = login(&app, "13800000002", "Wrong#pass1", None).await;
    let unknown = login(&app, "13700000009", "Wrong#pass1", None).await;
    assert_eq!(locked_wrong.0, 401);
    assert_eq!(locked_wrong.1["code"], "LOGIN_FAILED");
    assert_eq!(
        (
            locked_wrong.0,
            &locked_wrong.1["code"],
            &locked_wrong.1["message"],
            &locked_wrong.1["details"]
        ),
        (
            unknown.0,
            &unknown.1["code"],
            &unknown.1["message"],
            &unknown.1["details"]
        )
    );
    // Even the right password is refused while locked.
    let (status, body) = login(&app, "13800000002", PASSWORD, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("ACCOUNT_LOCKED"))
    );
    assert!(body["message"].as_str().unwrap().contains("15 分钟"));
    assert_eq!(audit_actions(&app, "auth.lockout").await.len(), 1);

    app.clock.advance(Duration::minutes(16));
    let (status, _) = login(&app, "13800000002", PASSWORD, None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_unknown_phone_gets_the_same_answer_as_a_wrong_password() {
    let app = spawn_app().await;

    let (status, body) = login(&app, "13700000000", PASSWORD, None).await;

    assert_eq!((status, body["code"].as_str()), (401, Some("LOGIN_FAILED")));
    let (status, body) = login(&app, "not-a-phone", PASSWORD, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("INVALID_PHONE"))
    );
}

fn pyotp_code(secret: &str, unix: i64) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, pyotp; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))",
            secret,
            &unix.to_string(),
        ])
        .output()
        .expect("python3 with pyotp (bash .ci/setup installs it)");
    assert!(
        out.status.success(),
        "pyotp failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn an_admin_must_enrol_totp_before_acting_and_then_signs_in_with_a_code() {
    let app = spawn_app().await;
    app.apply_demo().await;
    app.sign_in_as("13800000003", Role::SchoolAdmin, Some("sqsf"))
        .await;

    let (status, body) = login(&app, "13800000003", PASSWORD, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["mfa_setup_required"], true);
    let token = body["token"].as_str().unwrap().to_string();
    let (status, denied) = app.school_get(&token, "/classes").await;
    assert_eq!(
        (status, denied["code"].as_str()),
        (403, Some("MFA_REQUIRED"))
    );

    let (status, setup) = app
        .post_json(Some(&token), "/api/v1/auth/totp/setup", json!({}))
        .await;
    assert_eq!(status, 200);
    let secret = setup["secret_base32"].as_str().unwrap().to_string();
    assert!(setup["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    let now = app.clock.now().timestamp();
    let (status, body) = app
        .post_json(
            Some(&token),
            "/api/v1/auth/totp/enable",
            json!({ "code": pyotp_code(&secret, now) }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.school_get(&token, "/classes").await;
    assert_eq!(status, 200, "enrolment counts as passing the second factor");

    // Next sign-in: a code is required, a wrong one refused, a replayed one refused.
    app.clock.advance(Duration::seconds(60));
    let now = app.clock.now().timestamp();
    let (status, body) = login(&app, "13800000003", PASSWORD, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("MFA_CODE_REQUIRED"))
    );
    let (status, body) = login(&app, "13800000003", PASSWORD, Some("000000")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("MFA_CODE_INVALID"))
    );
    let code = pyotp_code(&secret, now);
    let (status, body) = login(&app, "13800000003", PASSWORD, Some(&code)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mfa_setup_required"], false);
    let (status, body) = login(&app, "13800000003", PASSWORD, Some(&code)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("MFA_CODE_INVALID")),
        "replay"
    );
}

async fn sms_code(app: &TestApp, phone: &str) -> String {
    let body = sms::latest_for(&app.db.admin, &app.keys.pii, &Phone::parse(phone).unwrap())
        .await
        .unwrap()
        .expect("a message was sent");
    body.chars()
        .filter(|c| c.is_ascii_digit())
        .take(6)
        .collect()
}

#[tokio::test]
async fn a_parent_signs_in_with_an_sms_code_once_and_a_replayed_code_is_refused() {
    let app = spawn_app().await;
    app.apply_demo().await;
    app.sign_in_as("13900001111", Role::Parent, Some("sqsf"))
        .await;

    let (status, body) = app
        .post_json(
            None,
            "/api/v1/auth/sms/send",
            json!({ "phone": "13900001111" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let code = sms_code(&app, "13900001111").await;
    assert_eq!(code.len(), 6);

    let (status, body) = app
        .post_json(
            None,
            "/api/v1/auth/sms/login",
            json!({ "phone": "13900001111", "code": code }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap();
    let (status, _) = app.school_get(token, "/calendar").await;
    assert_eq!(status, 200, "parents read the calendar");
    let (status, body) = app.school_get(token, "/classes").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("PERMISSION_DENIED"))
    );

    let (status, body) = app
        .post_json(
            None,
            "/api/v1/auth/sms/login",
            json!({ "phone": "13900001111", "code": code }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("CODE_INVALID")),
        "replayed code"
    );

    // A second code within the minute is refused with Retry-After.
    let r = app
        .client
        .post(format!("{}/api/v1/auth/sms/send", app.address))
        .json(&json!({ "phone": "13900001111" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
}

#[tokio::test]
async fn admins_cannot_sign_in_by_sms_and_unknown_phones_get_no_code() {
    let app = spawn_app().await;
    app.apply_demo().await;
    app.sign_in_as("13800000004", Role::SchoolAdmin, Some("sqsf"))
        .await;

    let (status, _) = app
        .post_json(
            None,
            "/api/v1/auth/sms/send",
            json!({ "phone": "13800000004" }),
        )
        .await;
    assert_eq!(status, 200, "same answer as for anyone");
    let (status, _) = app
        .post_json(
            None,
            "/api/v1/auth/sms/send",
            json!({ "phone": "13700000009" }),
        )
        .await;
    assert_eq!(status, 200);
    let outbox: i64 = sqlx::query_scalar("select count(*) from platform.sms_outbox")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(outbox, 0);
    let (status, body) = app
        .post_json(
            None,
            "/api/v1/auth/sms/login",
            json!({ "phone": "13800000004", "code": "123456" }),
        )
        .await;
    let (stranger_status, stranger) = app
        .post_json(
            None,
            "/api/v1/auth/sms/login",
            json!({ "phone": "13700000009", "code": "123456" }),
        )
        .await;
    // Admins never receive a code, and an SMS sign-in attempt on an admin's phone answers
    // exactly as one on a stranger's (issue 13.14: no telling which phones are admins').
    assert_eq!((status, body["code"].as_str()), (401, Some("CODE_INVALID")));
    assert_eq!((status, &body), (stranger_status, &stranger));
}

#[tokio::test]
async fn sessions_end_after_thirty_idle_minutes_or_twelve_hours() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let (_, token) = app
        .sign_in_as("13800000005", Role::Teacher, Some("sqsf"))
        .await;

    app.clock.advance(Duration::minutes(29));
    assert_eq!(app.get_as(&token, "/api/v1/me").await.status(), 200);
    app.clock.advance(Duration::minutes(31));
    let (status, body) = app.get_json_as(&token, "/api/v1/me").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("SESSION_EXPIRED")),
        "idle"
    );

    let (_, token) = app
        .sign_in_as("13800000005", Role::Teacher, Some("sqsf"))
        .await;
    for _ in 0..25 {
        app.clock.advance(Duration::minutes(29));
        if app.get_as(&token, "/api/v1/me").await.status() != 200 {
            break;
        }
    }
    let (status, _) = app.get_json_as(&token, "/api/v1/me").await;
    assert_eq!(status, 401, "absolute 12 h limit even when active");
}

#[tokio::test]
async fn changing_the_password_revokes_every_session_of_the_account() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let (_, phone_a) = app
        .sign_in_as("13800000006", Role::Teacher, Some("sqsf"))
        .await;
    let (_, phone_b) = app
        .sign_in_as("13800000006", Role::Teacher, Some("sqsf"))
        .await;

    let (status, body) = app
        .post_json(
            Some(&phone_a),
            "/api/v1/auth/password",
            json!({ "old_password": PASSWORD, "new_password": "short" }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("WEAK_PASSWORD"))
    );
    let (status, body) = app
        .post_json(
            Some(&phone_a),
            "/api/v1/auth/password",
            json!({ "old_password": "Wrong#1234", "new_password": "New#pass2026" }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("OLD_PASSWORD_WRONG"))
    );
    let (status, body) = app
        .post_json(
            Some(&phone_a),
            "/api/v1/auth/password",
            json!({ "old_password": PASSWORD, "new_password": "New#pass2026" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let fresh = body["token"].as_str().unwrap();

    assert_eq!(app.get_as(&phone_a, "/api/v1/me").await.status(), 401);
    assert_eq!(app.get_as(&phone_b, "/api/v1/me").await.status(), 401);
    assert_eq!(app.get_as(fresh, "/api/v1/me").await.status(), 200);
    assert_eq!(login(&app, "13800000006", PASSWORD, None).await.0, 401);
    assert_eq!(
        login(&app, "13800000006", "New#pass2026", None).await.0,
        200
    );
}

#[tokio::test]
async fn staff_passwords_older_than_ninety_days_must_be_changed_first() {
    let app = spawn_app().await;
    app.apply_demo().await;
    app.sign_in_as("13800000007", Role::Teacher, Some("sqsf"))
        .await;
    app.clock.advance(Duration::days(91));

    let (status, body) = login(&app, "13800000007", PASSWORD, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["password_change_required"], true);
    let token = body["token"].as_str().unwrap();
    let (status, body) = app.school_get(token, "/classes").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("PASSWORD_CHANGE_REQUIRED"))
    );
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_account_with_retry_after() {
    let app = spawn_app().await;
    let mut last = 0;
    let mut retry_after = None;
    for _ in 0..15 {
        let r = app
            .client
            .post(format!("{}/api/v1/auth/login", app.address))
            .json(&json!({ "phone": "13700000001", "password": "x" }))
            .send()
            .await
            .unwrap();
        last = r.status().as_u16();
        if last == 429 {
            retry_after = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            break;
        }
    }
    assert_eq!(last, 429);
    assert!(retry_after.unwrap().parse::<u64>().unwrap() >= 1);
}

#[tokio::test]
async fn a_school_admin_assigns_and_revokes_roles_only_in_their_own_school() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let (admin_id, admin) = app
        .sign_in_as("13800000008", Role::SchoolAdmin, Some("sqsf"))
        .await;

    let (status, body) = app
        .post_json(
            Some(&admin),
            "/t/sqsf/api/v1/roles",
            json!({ "phone": "13800000009", "name": "王老师", "role": "homeroom_teacher" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_i64().unwrap();
    let (_, list) = app.get_json_as(&admin, "/t/sqsf/api/v1/roles").await;
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(row["phone_masked"], "138****0009");
    assert_eq!(row["role_label"], "班主任");

    let (status, body) = app
        .post_json(
            Some(&admin),
            "/t/sqsf/api/v1/roles",
            json!({ "phone": "13800000009", "name": "王老师", "role": "agency_admin" }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("ROLE_NOT_FOR_TENANT"))
    );
    let (status, body) = app
        .post_json(
            Some(&admin),
            "/t/sqsf/api/v1/roles",
            json!({ "phone": "13800000009", "name": "王老师", "role": "homeroom_teacher" }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("ROLE_ALREADY_ASSIGNED"))
    );
    // Another school: no role there → 403, and it is audited.
    let (status, body) = app.get_json_as(&admin, "/t/sqhb/api/v1/roles").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("TENANT_ACCESS_DENIED"))
    );
    assert!(audit_actions(&app, "authz.denied")
        .await
        .iter()
        .any(|r| r.actor_account_id == Some(admin_id)));

    let r = app
        .client
        .delete(format!("{}/t/sqsf/api/v1/roles/{id}", app.address))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let changes = audit_actions(&app, "role.").await;
    assert!(changes.iter().any(|r| r.action == "role.assign"));
    assert!(changes.iter().any(|r| r.action == "role.revoke"));
}

#[tokio::test]
async fn the_three_operator_roles_cannot_be_held_by_one_account() {
    let app = spawn_app().await;
    let (_, security) = app.sign_in_as("13800000010", Role::OperatorSec, None).await;

    let (status, body) = app
        .post_json(
            Some(&security),
            "/api/v1/platform/roles",
            json!({ "phone": "13800000011", "name": "审计员", "role": "operator_audit" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["initial_password"].as_str().is_some());
    let (status, body) = app
        .post_json(
            Some(&security),
            "/api/v1/platform/roles",
            json!({ "phone": "13800000011", "name": "审计员", "role": "operator_sys" }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("SEPARATION_OF_DUTIES"))
    );

    // The audit administrator reads the trail; the security administrator may not.
    let (_, auditor) = app
        .sign_in_as("13800000011", Role::OperatorAudit, None)
        .await;
    let (status, records) = app
        .get_json_as(&auditor, "/api/v1/platform/audit?action=role.")
        .await;
    assert_eq!(status, 200);
    assert!(!records.as_array().unwrap().is_empty());
    let (status, verify) = app
        .get_json_as(&auditor, "/api/v1/platform/audit/verify")
        .await;
    assert_eq!((status, verify["intact"].as_bool()), (200, Some(true)));
    let export = app.get_as(&auditor, "/api/v1/platform/audit/export").await;
    assert_eq!(export.status(), 200);
    let all = export.text().await.unwrap();
    assert!(all.contains("操作") && all.contains("role.assign"));
    // The export takes the same filters as the search: no records of an unknown tenant.
    let filtered = app
        .get_as(&auditor, "/api/v1/platform/audit/export?tenant_id=999999")
        .await
        .text()
        .await
        .unwrap();
    assert!(filtered.contains("操作") && !filtered.contains("role.assign"));
    let (status, _) = app.get_json_as(&security, "/api/v1/platform/audit").await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn guardians_record_and_withdraw_consent_to_the_data_rules() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let (_, parent) = app
        .sign_in_as("13900002222", Role::Parent, Some("sqsf"))
        .await;

    let (status, list) = app
        .post_json(Some(&parent), "/api/v1/me/consents", json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["terms_version"], "2026-09");
    assert!(list[0]["withdrawn_at"].is_null());
    let id = list[0]["id"].as_i64().unwrap();

    let (status, list) = app
        .post_json(
            Some(&parent),
            &format!("/api/v1/me/consents/{id}/withdraw"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(!list[0]["withdrawn_at"].is_null());
    let (status, body) = app
        .post_json(
            Some(&parent),
            &format!("/api/v1/me/consents/{id}/withdraw"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("CONSENT_NOT_FOUND"))
    );
    let (status, body) = app
        .post_json(
            Some(&parent),
            "/api/v1/me/consents",
            json!({ "terms_version": "1999-01" }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("INVALID_INPUT"))
    );
    assert_eq!(audit_actions(&app, "consent.").await.len(), 2);
}

#[tokio::test]
async fn malformed_and_oversized_tokens_get_a_clean_401() {
    let app = spawn_app().await;
    app.apply_demo().await;
    for token in [
        "x",
        "' or 1=1 --",
        &"a".repeat(5000),
        "test-00000000000000000000000000000000",
    ] {
        let (status, body) = app.get_json_as(token, "/api/v1/me").await;
        assert_eq!(status, 401, "{token:.20}");
        assert_eq!(body["code"], "UNAUTHENTICATED");
        assert_eq!(
            body.as_object().unwrap().len(),
            3,
            "only code, message, details"
        );
    }
}

#[tokio::test]
async fn a_database_dump_contains_no_clear_phone_number() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let phones = ["13800000012", "13912345678", "15011112222"];
    for p in phones {
        app.sign_in_as(p, Role::Parent, Some("sqsf")).await;
    }
    app.post_json(None, "/api/v1/auth/sms/send", json!({ "phone": phones[1] }))
        .await;

    let url = url::Url::parse(&app.admin_url).unwrap();
    let bin = afterschool::db::embedded::find_bin_dir().unwrap();
    let out = Command::new(bin.join("pg_dump"))
        .args([
            "-h",
            url.host_str().unwrap(),
            "-p",
            &url.port().unwrap().to_string(),
            "-U",
            url.username(),
            "--data-only",
        ])
        .arg(url.path().trim_start_matches('/'))
        .env("PGPASSWORD", url.password().unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = String::from_utf8_lossy(&out.stdout);

    assert!(
        dump.contains("platform.accounts"),
        "the dump has the accounts table"
    );
    for p in phones {
        assert!(!dump.contains(p), "clear phone {p} found in the dump");
    }
}

#[tokio::test]
async fn the_system_administrator_creates_a_school_admin_who_must_change_the_initial_password() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let (_, sys) = app.sign_in_as("13800000020", Role::OperatorSys, None).await;

    let (status, body) = app
        .post_json(Some(&sys), "/api/v1/platform/accounts", json!({ "phone": "13800000021", "name": "李校长", "role": "school_admin", "tenant_code": "sqhb" }))
        .await;
    assert_eq!(status, 200, "{body}");
    let initial = body["initial_password"].as_str().unwrap().to_string();
    let (status, body) = app
        .post_json(Some(&sys), "/api/v1/platform/accounts", json!({ "phone": "13800000022", "name": "某人", "role": "school_admin", "tenant_code": "ycys" }))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("ROLE_NOT_FOR_TENANT"))
    );
    let (status, body) = app
        .post_json(
            Some(&sys),
            "/api/v1/platform/accounts",
            json!({ "phone": "13800000022", "name": "某人", "role": "operator_audit" }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("INVALID_INPUT"))
    );

    let (status, body) = login(&app, "13800000021", &initial, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["password_change_required"], true);
    assert_eq!(body["mfa_setup_required"], true);
    assert_eq!(audit_actions(&app, "account.create").await.len(), 1);
}

#[tokio::test]
async fn an_admin_assigned_by_a_school_admin_gets_an_initial_password_to_sign_in_with() {
    let (app, admin) = spawn_demo().await;

    let (status, body) = app
        .post_json(
            Some(&admin),
            "/t/sqsf/api/v1/roles",
            json!({ "phone": "13800000023", "name": "副校长", "role": "school_admin" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let initial = body["initial_password"]
        .as_str()
        .expect("a new account gets one");

    let (status, body) = login(&app, "13800000023", initial, None).await;
    assert_eq!(status, 200, "{body}");
    // An existing account is not given a new password.
    let (_, body) = app
        .post_json(
            Some(&admin),
            "/t/sqsf/api/v1/roles",
            json!({ "phone": "13800000023", "name": "副校长", "role": "teacher" }),
        )
        .await;
    assert!(body["initial_password"].is_null());
}

#[tokio::test]
async fn oversized_and_sql_like_sign_in_input_get_a_clean_4xx_and_change_nothing() {
    let app = spawn_app().await;
    let big = "x".repeat(13 * 1024 * 1024);
    let r = app
        .client
        .post(format!("{}/api/v1/auth/login", app.address))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"phone\":\"13800000000\",\"password\":\"{big}\"}}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "PAYLOAD_TOO_LARGE"
    );

    let (status, body) = login(&app, "13800000000' or '1'='1", "x' or '1'='1", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("INVALID_PHONE"))
    );
    let (status, body) = app
        .post_json(None, "/api/v1/auth/login", json!({ "phone": 1 }))
        .await;
    // A number where text is declared is refused by name (issue 13.17).
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("FIELD_TYPE_INVALID"))
    );
    let (status, body) = app
        .post_json(
            None,
            "/api/v1/auth/login",
            json!({ "phone": "13800000000" }),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("BAD_REQUEST")));
    let accounts: i64 = sqlx::query_scalar("select count(*) from platform.accounts")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(accounts, 0);
}
