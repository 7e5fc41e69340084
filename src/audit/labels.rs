//! What an auditor reads: the Chinese words for the trail's action names, actor roles,
//! objects and details (issue 13 item 7). The trail itself keeps the stable English names
//! (they are part of each record's MAC and of the API); every page that shows a record
//! goes through these functions, so no action code, role code or JSON reaches a reader.
//!
//! Pure: never reads the database. A name this module does not know yet is shown by its
//! area in Chinese ("人员信息 · 其他操作"), never as the raw code.

use serde_json::Value;

use crate::auth::model::Role;

/// Every action the product records, with its Chinese name.
const ACTIONS: &[(&str, &str)] = &[
    ("auth.login", "登录"),
    ("auth.logout", "退出登录"),
    ("auth.lockout", "账号锁定"),
    ("authz.denied", "越权访问被拒绝"),
    ("role.assign", "分配角色"),
    ("role.revoke", "撤销角色"),
    ("account.create", "创建账号"),
    ("account.totp_enable", "绑定身份验证器"),
    ("account.password_change", "修改密码"),
    ("consent.grant", "同意个人信息处理规则"),
    ("consent.withdraw", "撤回个人信息处理同意"),
    ("pii.read", "查看个人信息"),
    ("pii.reveal", "查看完整身份信息"),
    ("student.read", "查看学生信息"),
    ("student.update", "修改学生信息"),
    ("school.venue.create", "新增场地"),
    ("school.venue.update", "修改场地"),
    ("school.venue.delete", "删除场地"),
    ("school.period.create", "新增开班时段"),
    ("school.period.update", "修改开班时段"),
    ("school.period.delete", "删除开班时段"),
    ("school.term.create", "新增学期"),
    ("school.term.update", "修改学期"),
    ("school.term.day_set", "设置校历日"),
    ("school.term.day_delete", "删除校历日"),
    ("school.grade.create", "新增年级"),
    ("school.grade.update", "修改年级"),
    ("school.grade.delete", "删除年级"),
    ("school.class.create", "新增班级"),
    ("school.class.update", "修改班级"),
    ("school.class.delete", "删除班级"),
    ("school.class.promote", "班级升年级"),
    ("people.student.create", "新增学生"),
    ("people.student.update", "修改学生信息"),
    ("people.student.leave", "学生离校"),
    ("people.staff.create", "新增教职工"),
    ("people.staff.update", "修改教职工信息"),
    ("people.staff.leave", "教职工离职"),
    ("people.guardian.link", "关联家长"),
    ("people.guardian.unlink", "解除家长关联"),
    ("people.homeroom.set", "设置班主任"),
    ("people.homeroom.clear", "取消班主任"),
    ("people.department.create", "新增部门"),
    ("people.department.rename", "部门改名"),
    ("people.department.delete", "删除部门"),
    ("people.import", "批量导入"),
    ("courses.course.create", "新建课程"),
    ("courses.course.update", "修改课程"),
    ("courses.course.publish", "发布课程"),
    ("courses.course.close", "关闭课程"),
    ("courses.picture.add", "上传课程图片"),
    ("enrollment.hold", "报名占位（待支付）"),
    ("enrollment.confirm", "确认报名"),
    ("enrollment.cancel", "取消报名"),
    ("enrollment.cancel_by_school", "学校取消报名"),
    ("enrollment.apply", "抽签报名申请"),
    ("enrollment.draw", "抽签"),
    ("enrollment.waitlist", "候补"),
    ("enrollment.request", "提交退课或调班申请"),
    ("enrollment.request_approve", "批准退课或调班申请"),
    ("enrollment.request_reject", "驳回退课或调班申请"),
    ("enrollment.request_cancel", "撤回退课或调班申请"),
    ("payment.order.create", "创建缴费订单"),
    ("payment.order.paid", "订单支付成功"),
    ("payment.refund.request", "申请退款"),
    ("payment.callback.rejected", "拒收支付通知"),
];

/// The area of an action, by its first word, for names not (yet) in [`ACTIONS`].
const AREAS: &[(&str, &str)] = &[
    ("auth", "登录与会话"),
    ("authz", "权限"),
    ("role", "角色"),
    ("account", "账号"),
    ("consent", "个人信息同意"),
    ("pii", "个人信息"),
    ("student", "学生信息"),
    ("school", "学校设置"),
    ("people", "人员信息"),
    ("courses", "课程"),
    ("enrollment", "报名"),
    ("payment", "缴费"),
    ("platform", "平台"),
];

/// The Chinese name of an audited action, e.g. `auth.login` → 登录.
pub fn action_label(action: &str) -> String {
    if let Some((_, l)) = ACTIONS.iter().find(|(a, _)| *a == action) {
        return (*l).to_string();
    }
    let area = action.split('.').next().unwrap_or("");
    match AREAS.iter().find(|(a, _)| *a == area) {
        Some((_, l)) => format!("{l} · 其他操作"),
        None => "其他操作".to_string(),
    }
}

/// The actions an auditor may filter by: (stored name, Chinese name).
pub fn known_actions() -> impl Iterator<Item = (&'static str, &'static str)> {
    ACTIONS.iter().copied()
}

/// The Chinese name of a stored role, e.g. `school_admin` → 学校管理员.
pub fn role_label(role: &str) -> &'static str {
    Role::parse(role).map_or("其他角色", Role::label)
}

/// The kinds of object the trail names as `kind:id`.
const OBJECTS: &[(&str, &str)] = &[
    ("account", "账号"),
    ("student", "学生"),
    ("staff", "教职工"),
    ("guardian", "家长"),
    ("course", "课程"),
    ("department", "部门"),
    ("class", "班级"),
    ("grade", "年级"),
    ("venue", "场地"),
    ("period", "时段"),
    ("term", "学期"),
    ("enrollment", "报名"),
    ("enrollment_request", "退课或调班申请"),
    ("import", "导入任务"),
    ("order", "订单"),
    ("line", "订单明细"),
    ("refund", "退款"),
    ("consent", "同意记录"),
];

/// What the record was about, in Chinese: `course:7` → 课程 #7. A masked phone or a page
/// address is shown as it is.
pub fn object_label(object: &str) -> String {
    if let Some((kind, id)) = object.split_once(':') {
        if let Some((_, l)) = OBJECTS.iter().find(|(k, _)| *k == kind) {
            return format!("{l} #{id}");
        }
    }
    // A permission refused names the operation asked for: say so, not its code.
    if !object.is_empty()
        && object
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
    {
        return "受保护的功能".to_string();
    }
    object.to_string()
}

/// Detail keys in Chinese.
const KEYS: &[(&str, &str)] = &[
    ("reason", "原因"),
    ("method", "方式"),
    ("mfa", "双因素认证"),
    ("minutes", "锁定分钟数"),
    ("role", "角色"),
    ("assignment", "授权编号"),
    ("created", "新建账号"),
    ("phone", "手机号"),
    ("via", "途径"),
    ("code", "代码"),
    ("name", "名称"),
    ("kind", "类型"),
    ("capacity", "容量"),
    ("amount", "金额（元）"),
    ("out_trade_no", "商户订单号"),
    ("out_refund_no", "退款单号"),
    ("line_id", "订单明细"),
    ("course_id", "课程"),
    ("student_id", "学生"),
    ("staff_id", "教职工"),
    ("staff_no", "工号"),
    ("guardian_id", "家长"),
    ("class_id", "班级"),
    ("id_number", "身份证号"),
    ("relation", "关系"),
    ("fields", "查看的字段"),
    ("previous", "原值"),
    ("enrollments", "报名记录"),
    ("waitlist", "候补记录"),
    ("seed", "随机种子"),
    ("applicants", "申请人数"),
    ("winners", "中签人数"),
    ("rows", "行数"),
    ("inserted", "新增"),
    ("updated", "更新"),
    ("file", "文件"),
    ("sessions_revoked", "注销的会话数"),
    ("term", "学期"),
    ("day", "日期"),
    ("starts_at", "开始时间"),
    ("ends_at", "结束时间"),
    ("starts_on", "开始日期"),
    ("ends_on", "结束日期"),
    ("weekdays", "星期"),
    ("class_type", "班级类型"),
    ("category", "类目"),
    ("intro", "简介"),
    ("price", "价格（元）"),
    ("pricing", "计费方式"),
    ("eligible_levels", "可报名年级"),
    ("reg_opens_at", "报名开始"),
    ("reg_closes_at", "报名截止"),
    ("allocation", "分配方式"),
    ("hold_minutes", "保留分钟数"),
    ("teacher_ids", "授课教师"),
    ("parent_id", "所属系列课程"),
    ("period_id", "开班时段"),
    ("venue_id", "场地"),
    ("term_id", "学期"),
];

/// Stored values that are codes, in Chinese.
const VALUES: &[(&str, &str)] = &[
    ("password", "密码"),
    ("sms", "短信验证码"),
    ("cli", "服务器命令行"),
    ("web", "网页"),
    ("api", "接口"),
    ("unknown_account", "账号不存在"),
    ("wrong_password", "密码错误"),
    ("bad_password", "密码错误"),
    ("locked", "账号已锁定"),
    ("mother", "母亲"),
    ("father", "父亲"),
    ("custody", "托管"),
    ("training", "培训"),
    ("per_day", "按天"),
    ("per_course", "按课程"),
    ("fcfs", "先到先得"),
    ("lottery", "抽签"),
    ("PERMISSION_DENIED", "无权限"),
    ("TENANT_MISMATCH", "不属于该学校或机构"),
];

fn value_text(key: &str, v: &Value) -> String {
    match v {
        Value::Null => "无".to_string(),
        Value::Bool(true) => "是".to_string(),
        Value::Bool(false) => "否".to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if key == "role" => match Role::parse(s) {
            Some(r) => r.label().to_string(),
            None => s.clone(),
        },
        Value::String(s) => match VALUES.iter().find(|(k, _)| *k == s) {
            Some((_, l)) => (*l).to_string(),
            // Codes in capitals are error codes: what they say is in the record's outcome.
            None if !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit()) =>
            {
                "其他原因".to_string()
            }
            None => s.clone(),
        },
        Value::Array(items) => items
            .iter()
            .map(|i| match i.as_str() {
                Some(f) => key_label(f).unwrap_or_else(|| value_text(key, i)),
                None => value_text(key, i),
            })
            .collect::<Vec<_>>()
            .join("、"),
        Value::Object(_) => format!("（{}）", details_text(v)),
    }
}

fn key_label(key: &str) -> Option<String> {
    KEYS.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| (*l).to_string())
}

/// A record's details as Chinese text: `{"method":"sms"}` → 方式：短信验证码. Keys this
/// module does not know are shown as 其他; empty details as nothing.
pub fn details_text(details: &Value) -> String {
    match details {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| {
                let label = key_label(k).unwrap_or_else(|| "其他".to_string());
                format!("{label}：{}", value_text(k, v))
            })
            .collect::<Vec<_>>()
            .join("；"),
        Value::Null => String::new(),
        v => value_text("", v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_actions_read_in_chinese_and_unknown_ones_by_their_area() {
        assert_eq!(action_label("auth.login"), "登录");
        assert_eq!(action_label("people.import"), "批量导入");
        assert_eq!(action_label("people.something_new"), "人员信息 · 其他操作");
        assert_eq!(action_label("x.y"), "其他操作");
        assert!(known_actions().all(|(_, l)| !l.is_ascii()));
    }

    #[test]
    fn roles_objects_and_details_carry_no_codes() {
        assert_eq!(role_label("school_admin"), "学校管理员");
        assert_eq!(role_label("nobody"), "其他角色");
        assert_eq!(object_label("course:7"), "课程 #7");
        assert_eq!(object_label("138****5678"), "138****5678");
        assert_eq!(object_label("platform_tenants"), "受保护的功能");
        let d = details_text(&json!({ "method": "password", "mfa": true, "role": "parent" }));
        assert_eq!(d, "方式：密码；双因素认证：是；角色：家长");
        let d =
            details_text(&json!({ "fields": ["id_number", "phone"], "code": "PERMISSION_DENIED" }));
        assert_eq!(d, "代码：无权限；查看的字段：身份证号、手机号");
        assert_eq!(details_text(&json!({})), "");
        assert!(!details_text(&json!({ "zzz": 1 })).contains("zzz"));
    }
}
