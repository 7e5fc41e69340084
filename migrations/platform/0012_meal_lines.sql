-- Meal orders are paid through the same orders, lines, callbacks and escrow as bookings
-- (issue #16, R-P07): a line pays for either an enrollment (with its course) or a meal order
-- of the tenant's schema, never both. Like enrollment ids, meal order ids point into the
-- tenant's schema and carry no foreign key.
alter table platform.order_lines
    alter column enrollment_id drop not null,
    alter column course_id drop not null,
    add column meal_order_id bigint,
    add constraint order_lines_one_subject check (
        (enrollment_id is not null and course_id is not null and meal_order_id is null)
        or (enrollment_id is null and course_id is null and meal_order_id is not null));
-- a meal order has one live line at most, as an enrollment does
create unique index order_lines_one_live_meal on platform.order_lines (tenant_id, meal_order_id)
    where live and meal_order_id is not null;
