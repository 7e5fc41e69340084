-- A staff member's details changed (issue #15, R-X01 F3): when they teach a course the city
-- knows of, an event asks the courses' handler to push their F3 records again.

create function staff_changed() returns trigger
language plpgsql as $$
begin
    if exists (select 1 from course_teachers t join courses c on c.id = t.course_id
               where t.staff_id = new.id and c.status in ('published', 'closed')) then
        insert into platform.outbox (tenant_id, kind, entity, payload)
        values (platform.tenant_of_schema(tg_table_schema), 'courses.teacher_changed',
                'staff:' || tg_table_schema || ':' || new.id,
                jsonb_build_object('staff_id', new.id));
    end if;
    return null;
end $$;

create trigger staff_push after update on staff
    for each row when (old.* is distinct from new.*)
    execute function staff_changed();
