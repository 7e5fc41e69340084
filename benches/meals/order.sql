-- One successful meal order (POST /t/<school>/api/v1/school/meals/orders) as the server
-- issues it, statement for statement, in the order and transaction structure of the server
-- log (`log_statement = 'all'`, see benches/meals.rs, which prints that log and runs this
-- with `pgbench -M prepared`). The bench fills in the {{...}} placeholders and writes one
-- copy per school; pgbench picks a school script at random per transaction.
-- Statement texts are the server's, with each $n replaced by a pgbench variable: drawn at
-- random (the child), the school's lunch, read back with \gset as the server reads them back, or a constant
-- given with -D (now, expires, the period, its served days, price and amount, the audit
-- details). Differences, all forced by pgbench:
--   * the session is looked up by sha256 of the token computed in SQL (pgbench cannot
--     hash), the token being a number pgbench can derive from (school, child);
--   * `begin; select set_config(...); set local role ...` is one simple-query message in
--     the server and three prepared commands here (pgbench cannot prepare a
--     multi-statement);
--   * the expired-holds sweep's NULL id list and its status, and the slot's kind, are
--     literals (pgbench has no NULL variable);
--   * the slot row's child is a random number rather than the ordering child: the server
--     rolls a second order of a child back at that statement, and pgbench, drawing children
--     at random, would keep committing such orders without their slot; the slot table has
--     no foreign key, so the row costs the same;
--   * the audit record's row MAC is a constant (pgbench cannot compute the HMAC), so the
--     audit trail does not verify after pgbench (the bench checks it before).

\set sid random(1, {{students}})
\set item {{item}}
\set slot random(1000000, 999999999999)
\set tok :base + {{school}} * 1000000 + :sid

{{parent_request}}
-- the rules and the serving calendar
select period, opens_days_before, closes_days_before, stop_cutoff, hold_minutes
         from meal_rules;
select id, code, name, starts_on, ends_on, teaching_weekdays from terms order by starts_on \gset term_
select day, kind, name from calendar_exceptions where term_id = :term_id order by day;
select day, reason from meal_excluded_days order by day;
-- the catalogue and the child's allergies
select id, code, kind, name, description, price, levels, daily_capacity, allergens, status from meal_items order by array_position(array['breakfast',
         'lunch','afternoon_tea','dinner'], kind), id;
select sealed from student_allergies where student_id = :sid;
-- holds that ran out give their places back first
update meal_orders set status = 'expired', ended_at = :now
         where status = 'held' and ((null::bigint[] is not null and id = any(null::bigint[]))
                                    or (null::bigint[] is null and hold_expires_at <= :now))
         returning id, period_start, item_id, package_id;
-- the order, the child's lunch of the period, the place
insert into meal_orders (student_id, item_id, package_id, period_start, period_end,
                days, price, amount, status, hold_expires_at, ordered_by, created_at)
         values (:sid, :item, NULL, :period_start, :period_end, :days, :price, :amount, 'held', :expires, :s_account_id, :now) returning id \gset o_
insert into meal_order_slots (student_id, period_start, kind, meal_order_id)
             values (:slot, :period_start, 'lunch', :o_id) on conflict do nothing;
insert into meal_capacity (item_id, period_start, capacity, taken) values (:item, :period_start, 1000000, 1)
         on conflict (item_id, period_start) do update set taken = meal_capacity.taken + 1
           where meal_capacity.taken < meal_capacity.capacity
         returning taken;
-- the audit append (TenantTx::audit -> audit::append): one insert under the tenant role;
-- its trigger queues the record for the sealer
insert into platform.audit_log
             (uid, at, actor_account_id, actor_role, tenant_id, source_ip,
              action, object, outcome, details, row_mac)
         values (gen_random_uuid(), :now, :s_account_id, NULL, :t_id, :ip, :action, :object, :outcome, :details, '\x0000000000000000000000000000000000000000000000000000000000000000')
         returning id;
-- the order read back as the answer
select o.id, o.student_id, s.name as student_name, o.item_id,
        o.package_id, coalesce(i.name, p.name) as name,
        coalesce((select array_agg(sl.kind order by sl.kind) from meal_order_slots sl
                  where sl.meal_order_id = o.id),
                 case when i.kind is not null then array[i.kind] else
                 (select array_agg(distinct pk.kind) from meal_package_items pi
                    join meal_items pk on pk.id = pi.item_id where pi.package_id = o.package_id) end)
          as kinds,
        o.period_start, o.period_end, o.days, o.price, o.amount, o.status, o.hold_expires_at,
        o.created_at
    from meal_orders o
    join students s on s.id = o.student_id
    left join meal_items i on i.id = o.item_id
    left join meal_packages p on p.id = o.package_id where o.id = :o_id;
COMMIT;
