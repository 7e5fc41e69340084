//! A small, valid school manifest generated for a code: used by the tests, the benches and
//! as a starting point in the docs. Class names and aliases carry the tenant code, so an
//! answer can be checked for rows of another tenant.

pub fn small_school_manifest(code: &str) -> String {
    format!(
        r#"code = "{code}"
kind = "school"
name = "测试学校{code}"
stage = "primary"

[[grades]]
code = "g1"
name = "一年级"
level = 1
classes = [
  {{ code = "g1c1", name = "{code}-一年级1班", alias = "{code}-向日葵班" }},
  {{ code = "g1c2", name = "{code}-一年级2班", alias = "{code}-小太阳班" }},
]

[[venues]]
code = "gym"
name = "体育馆"
kind = "gym"
capacity = 100

[[periods]]
code = "noon"
name = "午托"
kind = "noon"
start = "12:00"
end = "14:00"
weekdays = [1, 2, 3, 4, 5]

[[terms]]
code = "2026-autumn"
name = "2026—2027学年第一学期"
start = "2026-09-01"
end = "2027-01-22"
holidays = [{{ name = "国庆节", start = "2026-10-01", end = "2026-10-07" }}]
makeup_days = [{{ name = "国庆节调休上课", date = "2026-10-10" }}]
"#
    )
}
