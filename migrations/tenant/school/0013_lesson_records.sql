-- Lesson records and comments (issue #17; R-P10, R-T07): after a session the teacher writes
-- what it covered (text and up to nine photos) and comments on children (tags and text);
-- parents read their own child's.
create table lesson_records (
    course_id  bigint not null references courses (id),
    day        date   not null,
    content    text   not null check (length(content) between 1 and 2000),
    written_by bigint not null,
    written_at timestamptz not null,
    primary key (course_id, day)
);

create table lesson_record_pictures (
    course_id  bigint  not null,
    day        date    not null,
    -- 1 to 9
    position   integer not null check (position between 1 and 9),
    object_key text    not null,
    bytes      integer not null check (bytes > 0),
    primary key (course_id, day, position),
    foreign key (course_id, day) references lesson_records (course_id, day)
);

create table student_comments (
    course_id  bigint not null references courses (id),
    day        date   not null,
    student_id bigint not null references students (id),
    tags       text[] not null default '{}',
    content    text   not null default '' check (length(content) <= 500),
    written_by bigint not null,
    written_at timestamptz not null,
    primary key (course_id, day, student_id)
);
create index student_comments_student on student_comments (student_id, day desc);
