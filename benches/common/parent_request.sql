-- What every parent request runs before its own statements (pgbench scripts of the
-- enrollment rush and the meals bench include it as {{parent_request}}): the tenant of the
-- path, the session with its account and roles and its touch, the tenant transaction, and
-- the check that the child is the signed-in parent's.
-- request middleware: the tenant of the path (app pool, autocommit)
select id, code, kind, name, status, schema_name, db_role, schema_version, manifest_hash from platform.tenants where code = :code{{school}} \gset t_
-- auth guard: the session with its account and role assignments in one statement, then
-- its touch (the rush's sessions were last seen minutes ago, so every request touches)
select s.id, s.account_id, s.last_seen_at, s.expires_at, s.revoked_at, s.mfa_passed,
                a.display_name, a.status, a.password_changed_at,
                a.password_hash is not null as has_password,
                a.totp_enabled_at is not null as totp_enabled,
                coalesce((select json_agg(json_build_array(r.id, r.role, r.tenant_id) order by r.id)
                          from platform.role_assignments r where r.account_id = s.account_id),
                         '[]') as assignments
         from platform.sessions s join platform.accounts a on a.id = s.account_id
         where s.token_hash = sha256(convert_to(:tok, 'UTF8')) \gset s_
update platform.sessions set last_seen_at = :now where id = :s_id;

-- the request's tenant transaction
BEGIN;
select set_config('search_path', '{{schema}},platform', true);
set local role "{{role}}";
-- the child is the parent's
select s.id, s.name, g.level from students s
           join classes c on c.id = s.class_id
           join grades g on g.id = c.grade_id
         where s.id = :sid and s.status = 'active'
           and exists (select 1 from student_guardians sg join guardians gu on gu.id = sg.guardian_id
                       where sg.student_id = s.id and gu.account_id = :s_account_id);
