-- One successful booking (POST /t/<school>/api/v1/school/enrollments) as the server issues
-- it, statement for statement, in the order and transaction structure of the server log
-- (`log_statement = 'all'`, see benches/enrollment_rush.rs, which prints that log and runs
-- this with `pgbench -M prepared`). The bench fills in the {{...}} placeholders and writes
-- one copy per school; pgbench picks a school script at random per transaction.
-- Statement texts are the server's, with each $n replaced by a pgbench variable: drawn at
-- random (child, course), read back with \gset/\aset as the server reads them back, or a
-- constant given with -D (now, expires, the audit details). Differences, all forced by
-- pgbench:
--   * the session is looked up by sha256 of the token computed in SQL (pgbench cannot
--     hash), the token being a number pgbench can derive from (school, child);
--   * `begin; select set_config(...); set local role ...` is one simple-query message in
--     the server and three prepared commands here (pgbench cannot prepare a
--     multi-statement);
--   * the audit record's row MAC is a constant (pgbench cannot compute the HMAC), so the
--     audit trail does not verify after pgbench (the bench checks it before).

\set sid random(1, {{students}})
\set cid random(1, {{courses}})
\set tok :base + {{school}} * 1000000 + :sid

{{parent_request}}
select id, code, parent_id, class_type, name, term_id, weekdays, starts_at, ends_at,
                starts_on, ends_on, capacity, price, pricing, eligible_levels, reg_opens_at,
                reg_closes_at, allocation, hold_minutes, status
         from courses where id = :cid or parent_id = :cid order by starts_on, starts_at, code \gset c_
select c.id as course_id, c.name, c.weekdays, c.starts_at, c.ends_at
         from enrollments e join courses c on c.id = e.course_id
         where e.student_id = :sid
           and (e.status = 'confirmed' or (e.status = 'held' and e.hold_expires_at > :now))
           and c.weekdays && :c_weekdays and c.starts_at < :c_ends_at and :c_starts_at < c.ends_at
           and c.starts_on <= :c_ends_on and :c_starts_on <= c.ends_on
         order by c.starts_at
         limit 5;
-- the place and the hold, read back as the answer, in one statement
with seat as (
             update course_seats set taken = taken + 1
             where course_id = :cid and taken < capacity
             returning course_id
         ), e as (
             insert into enrollments
                 (course_id, student_id, status, hold_expires_at, booked_by, created_at)
             select course_id, :sid, 'held', :expires, :s_account_id, :now from seat
             on conflict (course_id, student_id) where status in ('held', 'confirmed') do nothing
             returning *
         )
         select exists (select 1 from seat) as seated, r.*
         from (select 1) one left join (
             select e.id, e.course_id, c.name as course_name, c.class_type, e.student_id,
                    e.status, e.hold_expires_at, e.created_at, e.confirmed_at, e.ended_at,
                    e.end_reason, c.weekdays, c.starts_at, c.ends_at, c.starts_on, c.ends_on,
                    v.name as venue
             from e join courses c on c.id = e.course_id
             left join venues v on v.id = c.venue_id
         ) r on true;
-- the audit append (TenantTx::audit -> audit::append): one insert under the tenant role;
-- its trigger queues the record for the sealer
insert into platform.audit_log
             (uid, at, actor_account_id, actor_role, tenant_id, source_ip,
              action, object, outcome, details, row_mac)
         values (gen_random_uuid(), :now, :s_account_id, NULL, :t_id, :ip, :action, :object, :outcome, :details, '\x0000000000000000000000000000000000000000000000000000000000000000')
         returning id;
COMMIT;
