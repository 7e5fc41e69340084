//! Endpoints for a school's departments, staff, students and guardians (R-S03, R-S04) and
//! homeroom/role assignment of staff. Each handler: authorize in the school → open the
//! tenant transaction → one service call.

use super::perms::{
    DEPT_CREATE, DEPT_DELETE, DEPT_LIST, DEPT_RENAME, GUARDIAN_ADD, GUARDIAN_REMOVE,
    HOMEROOM_CLEAR, HOMEROOM_SET, MY_CHILDREN, STAFF_CREATE, STAFF_LEAVE, STAFF_LIST, STAFF_REVEAL,
    STAFF_ROLE, STAFF_UPDATE, STUDENT_CREATE, STUDENT_LEAVE, STUDENT_LIST, STUDENT_REVEAL,
    STUDENT_UPDATE,
};
use poem_openapi::param::{Path, Query};
use poem_openapi::{payload::Json, Object, OpenApi};

use super::model::*;
use super::service;
use crate::auth::api::Done;
use crate::auth::guard::Session;
use crate::auth::model::Role;
use crate::auth::role_api::AssignRoleResponse;
use crate::error::ApiError;
use crate::http::handler::{ApiTags, AppData, RequestTenant};
use crate::school::api::school_tx;

pub struct PeopleApi;

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NameRequest {
    pub name: String,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Created {
    pub id: i64,
}

/// 教职工信息（F3）。所有字段为文本，校验规则与批量导入相同。
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct StaffRequest {
    /// 工号
    pub staff_no: String,
    pub name: String,
    /// 身份证号（年龄、性别由此计算）
    pub id_number: String,
    pub phone: String,
    /// 教师资格证书号码
    #[oai(default)]
    pub qualification_no: String,
    /// 学历：博士研究生、硕士研究生、本科、大专、中专、高中、其他
    #[oai(default)]
    pub education: String,
    /// 职称级别
    #[oai(default)]
    pub title: String,
    /// 起始聘用年份，如 "2012"（教龄由此计算）
    #[oai(default)]
    pub employed_since: String,
    /// 工作职责
    #[oai(default)]
    pub duties: String,
    /// 月薪（元），如 "6800.00"
    #[oai(default)]
    pub monthly_salary: String,
    /// 所属部门名称（不存在时创建）
    #[oai(default)]
    pub departments: Vec<String>,
    /// 个人简历
    #[oai(default)]
    pub resume: String,
}

impl StaffRequest {
    fn fields(self) -> StaffFields {
        StaffFields {
            staff_no: self.staff_no,
            name: self.name,
            id_number: self.id_number,
            phone: self.phone,
            qualification_no: self.qualification_no,
            education: self.education,
            title: self.title,
            employed_since: self.employed_since,
            duties: self.duties,
            monthly_salary: self.monthly_salary,
            departments: self.departments.join("、"),
            resume: self.resume,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct StudentRequest {
    pub name: String,
    /// 身份证号（年龄、性别由此计算）
    pub id_number: String,
    pub class_id: i64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct GuardianRequest {
    pub name: String,
    pub relation: Relation,
    pub phone: String,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct HomeroomRequest {
    pub staff_id: i64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct StaffRoleRequest {
    /// teacher 任课教师 | inspector 巡课 | school_admin 学校管理员
    pub role: Role,
}

#[OpenApi(tag = "ApiTags::School")]
impl PeopleApi {
    /// 部门列表（R-S03）
    #[oai(
        path = "/school/departments",
        method = "get",
        operation_id = "departments_list"
    )]
    async fn departments(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<DepartmentView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &DEPT_LIST).await?;
        let out = service::departments(&mut tx).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 新建部门，如“语文教研组”“初三数学”（R-S03）
    #[oai(
        path = "/school/departments",
        method = "post",
        operation_id = "departments_create"
    )]
    async fn department_create(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NameRequest>,
    ) -> Result<Json<Created>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &DEPT_CREATE).await?;
        let id = service::create_department(app.0, &session.0, &mut tx, &body.0.name).await?;
        tx.commit().await?;
        Ok(Json(Created { id }))
    }

    /// 重命名部门
    #[oai(
        path = "/school/departments/:id",
        method = "patch",
        operation_id = "departments_rename"
    )]
    async fn department_rename(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<NameRequest>,
    ) -> Result<Json<Done>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &DEPT_RENAME).await?;
        service::rename_department(app.0, &session.0, &mut tx, id.0, &body.0.name).await?;
        tx.commit().await?;
        Ok(Json(Done { ok: true }))
    }

    /// 删除部门（仍有成员时拒绝）
    #[oai(
        path = "/school/departments/:id",
        method = "delete",
        operation_id = "departments_delete"
    )]
    async fn department_delete(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Done>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &DEPT_DELETE).await?;
        service::delete_department(app.0, &session.0, &mut tx, id.0).await?;
        tx.commit().await?;
        Ok(Json(Done { ok: true }))
    }

    /// 教职工列表（F3；身份证号、手机号脱敏）
    #[oai(path = "/school/staff", method = "get", operation_id = "staff_list")]
    async fn staff(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 按部门筛选
        department_id: Query<Option<i64>>,
        /// 姓名或工号
        q: Query<Option<String>>,
    ) -> Result<Json<Vec<StaffView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STAFF_LIST).await?;
        let out = service::list_staff(app.0, &mut tx, department_id.0, q.0.as_deref()).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 新增教职工
    #[oai(path = "/school/staff", method = "post", operation_id = "staff_create")]
    async fn staff_create(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<StaffRequest>,
    ) -> Result<Json<StaffView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STAFF_CREATE).await?;
        let out =
            service::create_or_update_staff(app.0, &session.0, &mut tx, None, &body.0.fields())
                .await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 修改教职工信息
    #[oai(
        path = "/school/staff/:id",
        method = "put",
        operation_id = "staff_update"
    )]
    async fn staff_update(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<StaffRequest>,
    ) -> Result<Json<StaffView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STAFF_UPDATE).await?;
        let out = service::create_or_update_staff(
            app.0,
            &session.0,
            &mut tx,
            Some(id.0),
            &body.0.fields(),
        )
        .await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 教职工离职（保留档案）
    #[oai(
        path = "/school/staff/:id",
        method = "delete",
        operation_id = "staff_leave"
    )]
    async fn staff_leave(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Done>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STAFF_LEAVE).await?;
        service::mark_left(app.0, &session.0, &mut tx, Person::Staff, id.0).await?;
        tx.commit().await?;
        Ok(Json(Done { ok: true }))
    }

    /// 查看教职工完整身份证号和手机号（每次查看记入审计日志）
    #[oai(
        path = "/school/staff/:id/pii",
        method = "get",
        operation_id = "staff_reveal"
    )]
    async fn staff_reveal(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<RevealedPii>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STAFF_REVEAL).await?;
        let out = service::reveal(app.0, &session.0, &mut tx, Person::Staff, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 授予教职工角色：任课教师、巡课、学校管理员（账号按手机号查找或创建）
    #[oai(
        path = "/school/staff/:id/roles",
        method = "post",
        operation_id = "staff_grant_role"
    )]
    async fn staff_grant_role(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<StaffRoleRequest>,
    ) -> Result<Json<AssignRoleResponse>, ApiError> {
        let tx = school_tx(&session, &app, &tenant, &STAFF_ROLE).await?;
        let (id, initial_password) =
            service::grant_staff_role(app.0, &session.0, tx, id.0, body.0.role).await?;
        Ok(Json(AssignRoleResponse {
            id,
            initial_password,
        }))
    }

    /// 指定班主任：该教职工获得班主任角色，可查看本班学生
    #[oai(
        path = "/school/classes/:id/homeroom",
        method = "put",
        operation_id = "homeroom_set"
    )]
    async fn homeroom_set(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<HomeroomRequest>,
    ) -> Result<Json<Done>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &HOMEROOM_SET).await?;
        service::set_homeroom(app.0, &session.0, &mut tx, id.0, body.0.staff_id).await?;
        tx.commit().await?;
        Ok(Json(Done { ok: true }))
    }

    /// 取消班主任
    #[oai(
        path = "/school/classes/:id/homeroom",
        method = "delete",
        operation_id = "homeroom_clear"
    )]
    async fn homeroom_clear(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Done>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &HOMEROOM_CLEAR).await?;
        service::clear_homeroom(app.0, &session.0, &mut tx, id.0).await?;
        tx.commit().await?;
        Ok(Json(Done { ok: true }))
    }

    /// 学生列表（F4）：管理员看全校，班主任只看本班；身份证号脱敏
    #[oai(
        path = "/school/students",
        method = "get",
        operation_id = "students_list"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn students(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        class_id: Query<Option<i64>>,
        /// active 在读 | graduated 已毕业 | left 已离校
        status: Query<Option<String>>,
        /// 姓名关键字
        q: Query<Option<String>>,
        #[oai(default = "default_limit")] limit: Query<i64>,
        #[oai(default)] offset: Query<i64>,
    ) -> Result<Json<StudentPage>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STUDENT_LIST).await?;
        let query = service::StudentQuery {
            class_id: class_id.0,
            status: status.0.filter(|s| !s.is_empty()),
            q: q.0.filter(|s| !s.trim().is_empty()),
            limit: limit.0,
            offset: offset.0,
        };
        let out = service::list_students(app.0, &session.0, &mut tx, &query).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 新增学生
    #[oai(
        path = "/school/students",
        method = "post",
        operation_id = "students_create"
    )]
    async fn student_create(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<StudentRequest>,
    ) -> Result<Json<StudentView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STUDENT_CREATE).await?;
        let b = body.0;
        let out = service::create_or_update_student(
            app.0,
            &session.0,
            &mut tx,
            None,
            &b.name,
            &b.id_number,
            b.class_id,
        )
        .await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 修改学生信息（含调班）
    #[oai(
        path = "/school/students/:id",
        method = "put",
        operation_id = "students_update"
    )]
    async fn student_update(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<StudentRequest>,
    ) -> Result<Json<StudentView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STUDENT_UPDATE).await?;
        let b = body.0;
        let out = service::create_or_update_student(
            app.0,
            &session.0,
            &mut tx,
            Some(id.0),
            &b.name,
            &b.id_number,
            b.class_id,
        )
        .await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 学生离校（保留档案）
    #[oai(
        path = "/school/students/:id",
        method = "delete",
        operation_id = "students_leave"
    )]
    async fn student_leave(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Done>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STUDENT_LEAVE).await?;
        service::mark_left(app.0, &session.0, &mut tx, Person::Student, id.0).await?;
        tx.commit().await?;
        Ok(Json(Done { ok: true }))
    }

    /// 查看学生完整身份证号（每次查看记入审计日志）
    #[oai(
        path = "/school/students/:id/pii",
        method = "get",
        operation_id = "students_reveal"
    )]
    async fn student_reveal(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<RevealedPii>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &STUDENT_REVEAL).await?;
        let out = service::reveal(app.0, &session.0, &mut tx, Person::Student, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 为学生添加家长（账号按手机号查找或创建，并获得本校家长角色）
    #[oai(
        path = "/school/students/:id/guardians",
        method = "post",
        operation_id = "guardians_add"
    )]
    async fn guardian_add(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<GuardianRequest>,
    ) -> Result<Json<StudentView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &GUARDIAN_ADD).await?;
        let b = body.0;
        let out = service::add_guardian(
            app.0, &session.0, &mut tx, id.0, &b.name, b.relation, &b.phone,
        )
        .await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 解除学生与家长的关联
    #[oai(
        path = "/school/students/:id/guardians/:guardian_id",
        method = "delete",
        operation_id = "guardians_remove"
    )]
    async fn guardian_remove(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        guardian_id: Path<i64>,
    ) -> Result<Json<Done>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &GUARDIAN_REMOVE).await?;
        service::remove_guardian(app.0, &session.0, &mut tx, id.0, guardian_id.0).await?;
        tx.commit().await?;
        Ok(Json(Done { ok: true }))
    }

    /// 家长：我的孩子（须先同意个人信息处理规则）
    #[oai(
        path = "/school/my-children",
        method = "get",
        operation_id = "my_children"
    )]
    async fn my_children(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<StudentView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &MY_CHILDREN).await?;
        let out = service::my_children(app.0, &session.0, &mut tx).await?;
        tx.commit().await?;
        Ok(Json(out))
    }
}

fn default_limit() -> i64 {
    50
}
