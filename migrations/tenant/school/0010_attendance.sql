-- Teacher check-in and student attendance (issue #17; R-T05, R-T06, R-P09). A session is a
-- course on one day; it is delivered when one of its teachers checked in, and the day close
-- releases a lesson's money only for delivered sessions (一课一消).
create table attendance_rules (
    id                 boolean primary key default true check (id),
    -- check-in opens this many minutes before the start, and is late this many after it
    opens_before_min   integer not null default 15 check (opens_before_min between 0 and 120),
    late_after_min     integer not null default 10 check (late_after_min between 0 and 60),
    -- the school's location and the radius a check-in with the phone's location must be in
    latitude           numeric(9, 6) check (latitude between -90 and 90),
    longitude          numeric(9, 6) check (longitude between -180 and 180),
    radius_m           integer check (radius_m between 50 and 5000)
);
insert into attendance_rules default values;

create table teacher_checkins (
    course_id     bigint  not null references courses (id),
    day           date    not null,
    staff_id      bigint  not null references staff (id),
    account_id    bigint  not null,
    checked_in_at timestamptz not null,
    late          boolean not null,
    latitude      numeric(9, 6),
    longitude     numeric(9, 6),
    -- metres from the school, when the phone gave its location and the school has one
    distance_m    integer,
    primary key (course_id, day, staff_id)
);
create index teacher_checkins_day on teacher_checkins (day);

create table attendance_marks (
    course_id  bigint not null references courses (id),
    day        date   not null,
    student_id bigint not null references students (id),
    mark       text   not null check (mark in ('present', 'late', 'absent', 'left_early', 'leave')),
    -- absent without an approved leave
    abnormal   boolean not null default false,
    marked_by  bigint not null,
    marked_at  timestamptz not null,
    primary key (course_id, day, student_id)
);
create index attendance_marks_day on attendance_marks (day, student_id);
