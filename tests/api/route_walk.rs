//! Every operation of the OpenAPI document, tried (a) without a session, (b) with a session
//! of another tenant, (c) with a role lacking its permission: 401/403 every time and no data
//! in the body. New routes are covered automatically; a route without a declared permission
//! fails the test (issue #3, proof 1).

use std::collections::HashMap;

use afterschool::auth::authz::Authz;
use afterschool::auth::model::{Access, Domain, Permission, Role, ALL_ROLES};
use serde_json::{json, Value};

use crate::helpers::{answer, spawn_app, TestApp};

/// A request body that satisfies the schema, so the guard is reached (not the parser).
fn example(spec: &Value, schema: &Value) -> Value {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return example(spec, &spec["components"]["schemas"][name]);
    }
    if let Some(all) = schema["allOf"].as_array() {
        return all.first().map(|s| example(spec, s)).unwrap_or(json!({}));
    }
    if let Some(values) = schema["enum"].as_array() {
        return values[0].clone();
    }
    match schema["type"].as_str() {
        Some("object") => {
            let mut out = serde_json::Map::new();
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = schema["properties"].as_object() {
                for (k, v) in props {
                    if required.contains(&k.as_str()) {
                        out.insert(k.clone(), example(spec, v));
                    }
                }
            }
            Value::Object(out)
        }
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(false),
        Some("array") => json!([]),
        _ if schema["format"] == "naive-date" => json!("2026-10-12"),
        _ => json!("13800000000"),
    }
}

/// A value for a path or query parameter that its parser accepts.
fn param_example(spec: &Value, schema: &Value) -> String {
    if schema["format"] == "uuid" {
        return "00000000-0000-7000-8000-000000000001".into();
    }
    if schema["format"] == "naive-date" {
        return "2026-10-12".into();
    }
    match example(spec, schema) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// The operation's path with every path parameter filled in, plus its required query
/// parameters, so that the request reaches the guard (not the parameter parser).
fn concrete_path(spec: &Value, path: &str, op: &Value) -> String {
    let mut out = path.to_string();
    let mut query = Vec::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default();
        let value = param_example(spec, &p["schema"]);
        match p["in"].as_str() {
            Some("path") => out = out.replace(&format!("{{{name}}}"), &value),
            Some("query") if p["required"] == true => query.push(format!("{name}={value}")),
            _ => {}
        }
    }
    if !query.is_empty() {
        out = format!("{out}?{}", query.join("&"));
    }
    out
}

/// A request body of the declared media type: JSON from the schema, or a multipart form
/// with a small file for uploads.
#[derive(Clone)]
enum Body {
    Json(Value),
    Multipart,
}

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Body>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
    let mut req = app.request(method.clone(), path, token);
    match body {
        Some(Body::Json(b)) => req = req.json(b),
        Some(Body::Multipart) => {
            let part =
                reqwest::multipart::Part::bytes(b"a,b\r\n1,2\r\n".to_vec()).file_name("walk.csv");
            req = req.multipart(reqwest::multipart::Form::new().part("file", part));
        }
        None => {}
    }
    answer(method.as_str(), path, req.send().await.unwrap()).await
}

fn assert_bare_error(body: &Value, what: &str) {
    let keys: Vec<&String> = body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys.len(), 3, "{what}: only code, message, details: {body}");
    assert!(
        body["code"].is_string() && body["message"].is_string(),
        "{what}: {body}"
    );
}

#[tokio::test]
async fn every_route_refuses_no_session_another_tenant_and_a_role_without_the_permission() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let authz = Authz::embedded().await.unwrap();
    let spec: Value = serde_json::from_str(&afterschool::http::spec_json()).unwrap();
    let declared: HashMap<&str, Permission> = afterschool::http::route_permissions()
        .into_iter()
        .map(|p| (p.operation_id, p))
        .collect();
    // A school admin of another school, and one account per single role in sqsf.
    let (_, other_school) = app
        .sign_in_as("13600000001", Role::SchoolAdmin, Some("sqhb"))
        .await;
    let mut single_role = HashMap::new();
    for (i, role) in ALL_ROLES.iter().enumerate() {
        let tenant = match role.domain() {
            Domain::School => Some("sqsf"),
            Domain::Agency => Some("ycys"),
            Domain::Platform => None,
        };
        let (_, token) = app
            .sign_in_as(&format!("136100000{i:02}"), *role, tenant)
            .await;
        single_role.insert(*role, token);
    }

    let mut operations = 0;
    let mut checked_c = 0;
    for (path, methods) in spec["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            operations += 1;
            let op_id = op["operationId"].as_str().unwrap();
            let perm = declared
                .get(op_id)
                .unwrap_or_else(|| panic!("{method} {path} ({op_id}) declares no permission"));
            // The media type key carries a charset; take whichever JSON one is declared.
            let content = op["requestBody"]["content"].as_object();
            let body = content
                .and_then(|c| c.iter().find(|(k, _)| k.starts_with("application/json")))
                .map(|(_, media)| Body::Json(example(&spec, &media["schema"])))
                .or_else(|| {
                    content
                        .filter(|c| c.keys().any(|k| k.starts_with("multipart/form-data")))
                        .map(|_| Body::Multipart)
                });
            let concrete = concrete_path(&spec, path, op);
            let what = format!("{method} {path}");
            match perm.access {
                Access::Public => continue,
                Access::SignedIn => {
                    let url = format!("/api/v1{concrete}");
                    let (status, b) = call(&app, method, &url, None, body.as_ref()).await;
                    assert_eq!(status, 401, "{what} without a session: {b}");
                    assert_bare_error(&b, &what);
                }
                Access::Tenant { obj, act } => {
                    let url = format!("/t/sqsf/api/v1{concrete}");
                    let (status, b) = call(&app, method, &url, None, body.as_ref()).await;
                    assert_eq!(status, 401, "{what} without a session: {b}");
                    assert_bare_error(&b, &what);
                    let (status, b) =
                        call(&app, method, &url, Some(&other_school), body.as_ref()).await;
                    assert_eq!(
                        (status, b["code"].as_str()),
                        (403, Some("TENANT_ACCESS_DENIED")),
                        "{what} from another school"
                    );
                    assert_bare_error(&b, &what);
                    if let Some(role) = ALL_ROLES.iter().find(|r| {
                        r.domain() == Domain::School && !authz.allows(**r, Domain::School, obj, act)
                    }) {
                        let (status, b) =
                            call(&app, method, &url, Some(&single_role[role]), body.as_ref()).await;
                        assert_eq!(
                            (status, b["code"].as_str()),
                            (403, Some("PERMISSION_DENIED")),
                            "{what} as {role:?}"
                        );
                        assert_bare_error(&b, &what);
                        checked_c += 1;
                    }
                }
                Access::Platform { obj, act } => {
                    let url = format!("/api/v1{concrete}");
                    let (status, b) = call(&app, method, &url, None, body.as_ref()).await;
                    assert_eq!(status, 401, "{what} without a session: {b}");
                    let (status, b) =
                        call(&app, method, &url, Some(&other_school), body.as_ref()).await;
                    assert_eq!(status, 403, "{what} as a school admin: {b}");
                    assert_bare_error(&b, &what);
                    let lacking = ALL_ROLES
                        .iter()
                        .find(|r| {
                            r.domain() == Domain::Platform
                                && !authz.allows(**r, Domain::Platform, obj, act)
                        })
                        .expect("some platform role lacks each platform permission");
                    let (status, b) = call(
                        &app,
                        method,
                        &url,
                        Some(&single_role[lacking]),
                        body.as_ref(),
                    )
                    .await;
                    assert_eq!(
                        (status, b["code"].as_str()),
                        (403, Some("PERMISSION_DENIED")),
                        "{what} as {lacking:?}"
                    );
                    checked_c += 1;
                }
            }
        }
    }
    assert_eq!(
        operations,
        declared.len(),
        "every declared permission names an operation"
    );
    assert!(checked_c >= 10, "role-lacking checks ran: {checked_c}");
}
