//! The OpenAPI document as a contract the server keeps: which methods each path allows
//! (the `Allow` header of a 405), request bodies held to the declared types where the
//! framework is lenient (it turns a number or a boolean into a string), and a validator of
//! any JSON value against a schema of the document, which the test suite runs on every
//! answer it receives.
//!
//! Knows the subset of OpenAPI 3.0 the document uses: `$ref` to components, `allOf`,
//! `oneOf`/`anyOf`, `type`, `enum`, `nullable`, `properties`/`required`,
//! `additionalProperties` and `items`. Never changes a request or an answer.

use std::sync::OnceLock;

use serde_json::Value;

/// One path template of the document (`/school/courses/{id}`) split into segments.
struct PathTemplate {
    template: String,
    segments: Vec<Option<String>>,
}

impl PathTemplate {
    fn parse(template: &str) -> Self {
        let segments = template
            .trim_matches('/')
            .split('/')
            .map(|s| {
                if s.starts_with('{') && s.ends_with('}') {
                    None
                } else {
                    Some(s.to_string())
                }
            })
            .collect();
        Self {
            template: template.to_string(),
            segments,
        }
    }

    /// How well `path` matches: `None` if not, else the number of literal segments (a
    /// literal beats a parameter: `/orders/mine` over `/orders/{id}`).
    fn score(&self, path: &[&str]) -> Option<usize> {
        if path.len() != self.segments.len() {
            return None;
        }
        let mut literal = 0;
        for (seg, got) in self.segments.iter().zip(path) {
            match seg {
                Some(lit) if lit == got => literal += 1,
                Some(_) => return None,
                None if got.is_empty() => return None,
                None => {}
            }
        }
        Some(literal)
    }
}

/// The document, parsed once, with its paths ready to match.
pub struct Contract {
    doc: Value,
    paths: Vec<PathTemplate>,
}

/// How strictly a value is held to its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Everything the schema says (answers, in the tests).
    Full,
    /// Only what the framework would otherwise let through: a number or boolean where a
    /// string is declared. Everything else it refuses itself, in its own words.
    StringsAreStrings,
}

impl Contract {
    pub fn new(doc: Value) -> Self {
        let paths = doc["paths"]
            .as_object()
            .map(|p| p.keys().map(|k| PathTemplate::parse(k)).collect())
            .unwrap_or_default();
        Self { doc, paths }
    }

    /// This server's own document.
    pub fn ours() -> &'static Contract {
        static C: OnceLock<Contract> = OnceLock::new();
        C.get_or_init(|| Contract::new(super::spec_value()))
    }

    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// The document's path template for `path` (below `/api/v1`, tenant prefix removed).
    pub fn template_of(&self, path: &str) -> Option<&str> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.paths
            .iter()
            .filter_map(|t| t.score(&parts).map(|s| (s, t)))
            .max_by_key(|(s, _)| *s)
            .map(|(_, t)| t.template.as_str())
    }

    /// The methods `path` answers, upper case, for an `Allow` header.
    pub fn allowed_methods(&self, path: &str) -> Vec<String> {
        let Some(t) = self.template_of(path) else {
            return Vec::new();
        };
        let mut methods: Vec<String> = self.doc["paths"][t]
            .as_object()
            .map(|ops| ops.keys().map(|m| m.to_ascii_uppercase()).collect())
            .unwrap_or_default();
        if methods.iter().any(|m| m == "GET") {
            methods.push("HEAD".into());
        }
        methods.sort();
        methods
    }

    /// The operation object for `method` on `path`, if the document has one.
    pub fn operation(&self, method: &str, path: &str) -> Option<&Value> {
        let t = self.template_of(path)?;
        let op = &self.doc["paths"][t][method.to_ascii_lowercase()];
        (!op.is_null()).then_some(op)
    }

    /// The JSON schema of the operation's request body, if it takes one.
    pub fn request_schema<'a>(&self, op: &'a Value) -> Option<&'a Value> {
        json_schema(&op["requestBody"]["content"])
    }

    /// The schema of the answer with `status`: `Err` when the status is not declared.
    pub fn response_schema<'a>(
        &self,
        op: &'a Value,
        status: u16,
    ) -> Result<Option<&'a Value>, String> {
        let responses = &op["responses"];
        let r = &responses[status.to_string()];
        let r = if r.is_null() {
            &responses["default"]
        } else {
            r
        };
        if r.is_null() {
            return Err(format!("status {status} is not declared"));
        }
        Ok(json_schema(&r["content"]))
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut s = schema;
        for _ in 0..16 {
            let Some(r) = s["$ref"].as_str() else { break };
            let Some(name) = r.strip_prefix("#/components/schemas/") else {
                break;
            };
            s = &self.doc["components"]["schemas"][name];
        }
        s
    }

    /// Every way `value` departs from `schema`, each as `<where>: <what>`.
    pub fn violations(&self, schema: &Value, value: &Value, strictness: Strictness) -> Vec<String> {
        let mut out = Vec::new();
        self.check(schema, value, "$", strictness, &mut out);
        out
    }

    fn check(&self, schema: &Value, v: &Value, at: &str, mode: Strictness, out: &mut Vec<String>) {
        let full = mode == Strictness::Full;
        // `nullable` and `allOf` may sit beside a `$ref` (poem writes `allOf: [$ref]`).
        let nullable = schema["nullable"].as_bool() == Some(true);
        let s = self.resolve(schema);
        if v.is_null() {
            let ok = nullable
                || s["nullable"].as_bool() == Some(true)
                || s["allOf"]
                    .as_array()
                    .is_some_and(|all| all.iter().any(|a| a["nullable"].as_bool() == Some(true)));
            if full && !ok && !is_any(s) {
                out.push(format!("{at}: null, but the schema is not nullable"));
            }
            return;
        }
        if let Some(all) = s["allOf"].as_array() {
            for part in all {
                self.check(part, v, at, mode, out);
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(alts) = s[key].as_array() {
                let fits = alts.iter().any(|a| {
                    let mut tmp = Vec::new();
                    self.check(a, v, at, mode, &mut tmp);
                    tmp.is_empty()
                });
                if !fits {
                    out.push(format!("{at}: matches none of the {key} alternatives"));
                }
            }
        }
        if let (true, Some(allowed)) = (full, s["enum"].as_array()) {
            if !allowed.contains(v) {
                out.push(format!("{at}: {v} is not one of {allowed:?}"));
            }
        }
        let Some(ty) = s["type"].as_str() else { return };
        let fits = match ty {
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            _ => true,
        };
        if !fits {
            if full || ty == "string" {
                out.push(format!("{at}: expected {ty}, got {}", kind_of(v)));
            }
            return;
        }
        match (ty, v) {
            ("array", Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    self.check(&s["items"], item, &format!("{at}[{i}]"), mode, out);
                }
            }
            ("object", Value::Object(fields)) => {
                let props = s["properties"].as_object();
                if full {
                    for req in s["required"].as_array().into_iter().flatten() {
                        if let Some(name) = req.as_str() {
                            if !fields.contains_key(name) {
                                out.push(format!("{at}.{name}: required but missing"));
                            }
                        }
                    }
                }
                for (name, fv) in fields {
                    let declared = props.and_then(|p| p.get(name));
                    match (declared, &s["additionalProperties"]) {
                        (Some(ps), _) => self.check(ps, fv, &format!("{at}.{name}"), mode, out),
                        (None, extra) if extra.is_object() => {
                            self.check(extra, fv, &format!("{at}.{name}"), mode, out)
                        }
                        (None, _) if full && props.is_some() => {
                            out.push(format!("{at}.{name}: not declared in the schema"))
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

/// A schema that allows anything (`{}`, or only a description).
fn is_any(s: &Value) -> bool {
    s.as_object().is_none_or(|o| {
        !o.contains_key("type")
            && !o.contains_key("$ref")
            && !o.contains_key("allOf")
            && !o.contains_key("oneOf")
            && !o.contains_key("anyOf")
            && !o.contains_key("enum")
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The schema of the JSON media type in a `content` map (its key carries a charset).
fn json_schema(content: &Value) -> Option<&Value> {
    content
        .as_object()?
        .iter()
        .find(|(k, _)| k.starts_with("application/json"))
        .map(|(_, m)| &m["schema"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contract() -> Contract {
        Contract::new(json!({
            "paths": {
                "/orders/{id}": { "get": {}, "delete": {} },
                "/orders/mine": { "get": {} },
            },
            "components": { "schemas": {
                "Order": {
                    "type": "object", "required": ["id"],
                    "properties": {
                        "id": { "type": "integer" },
                        "note": { "type": "string" },
                        "paid_at": { "type": "string", "nullable": true },
                        "lines": { "type": "array", "items": { "$ref": "#/components/schemas/Line" } }
                    }
                },
                "Line": { "type": "object", "properties": { "amount": { "type": "string" } } }
            } }
        }))
    }

    #[test]
    fn a_literal_segment_beats_a_parameter_and_head_comes_with_get() {
        let c = contract();
        assert_eq!(c.template_of("/orders/mine"), Some("/orders/mine"));
        assert_eq!(c.template_of("/orders/12"), Some("/orders/{id}"));
        assert_eq!(c.template_of("/orders"), None);
        assert_eq!(c.allowed_methods("/orders/12"), ["DELETE", "GET", "HEAD"]);
    }

    #[test]
    fn nulls_numbers_for_strings_missing_and_undeclared_fields_are_violations() {
        let c = contract();
        let order = json!({ "$ref": "#/components/schemas/Order" });
        let ok = json!({ "id": 1, "paid_at": null, "lines": [{ "amount": "1.00" }] });
        assert!(c.violations(&order, &ok, Strictness::Full).is_empty());
        let bad = json!({ "note": null, "extra": 1, "lines": [{ "amount": 1 }] });
        let v = c.violations(&order, &bad, Strictness::Full);
        assert_eq!(v.len(), 4, "{v:?}");
        // A request only has its strings held to being strings.
        let v = c.violations(&order, &bad, Strictness::StringsAreStrings);
        assert_eq!(v, ["$.lines[0].amount: expected string, got number"]);
    }
}
