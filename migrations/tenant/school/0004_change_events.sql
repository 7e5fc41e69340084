-- Changes the city supervision push follows (issue #15, R-X01), written to the outbox in
-- the transaction of the change whatever code path made it:
-- - a published or closed course changed (F2, and F3 for its teachers);
-- - a teacher added to or removed from a course (F3);
-- - a place confirmed, or a confirmed place ended (F4).
-- Each event names the row only: the features' outbox handlers read the rest (and
-- decrypt what is personal) when they turn it into the records the push sends. Events of
-- one course share one entity, so they are handled in the order they happened; so do
-- those of one enrollment.

create function course_changed() returns trigger
language plpgsql as $$
begin
    insert into platform.outbox (tenant_id, kind, entity, payload)
    values (platform.tenant_of_schema(tg_table_schema), 'courses.changed',
            'course:' || tg_table_schema || ':' || new.id,
            jsonb_build_object('course_id', new.id));
    return null;
end $$;

create trigger courses_push after insert or update on courses
    for each row when (new.status in ('published', 'closed'))
    execute function course_changed();

create function course_teacher_changed() returns trigger
language plpgsql as $$
declare
    r record;
begin
    if tg_op = 'DELETE' then r := old; else r := new; end if;
    insert into platform.outbox (tenant_id, kind, entity, payload)
    values (platform.tenant_of_schema(tg_table_schema), 'courses.changed',
            'course:' || tg_table_schema || ':' || r.course_id,
            jsonb_build_object('course_id', r.course_id, 'staff_id', r.staff_id,
                               'removed', tg_op = 'DELETE'));
    return null;
end $$;

create trigger course_teachers_push after insert or delete on course_teachers
    for each row execute function course_teacher_changed();

create function enrollment_place_changed() returns trigger
language plpgsql as $$
begin
    insert into platform.outbox (tenant_id, kind, entity, payload)
    values (platform.tenant_of_schema(tg_table_schema), 'enrollment.place',
            'enrollment:' || tg_table_schema || ':' || new.id,
            jsonb_build_object('enrollment_id', new.id, 'ended', new.status <> 'confirmed'));
    return null;
end $$;

create trigger enrollments_push_new after insert on enrollments
    for each row when (new.status = 'confirmed')
    execute function enrollment_place_changed();

create trigger enrollments_push_change after update of status on enrollments
    for each row when (old.status is distinct from new.status
                       and (new.status = 'confirmed' or old.status = 'confirmed'))
    execute function enrollment_place_changed();
