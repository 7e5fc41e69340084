-- Course evaluations (issue #17; R-P15, F6): a parent rates a course their child attends,
-- 1 to 5 with a text, once per course, child and term, and may edit it. Each evaluation is
-- pushed to the city supervision platform as F6.
create table course_evaluations (
    id         bigint generated always as identity primary key,
    course_id  bigint   not null references courses (id),
    student_id bigint   not null references students (id),
    term_id    bigint   not null references terms (id),
    account_id bigint   not null,
    score      smallint not null check (score between 1 and 5),
    content    text     not null default '' check (length(content) <= 500),
    created_at timestamptz not null,
    updated_at timestamptz not null,
    unique (course_id, student_id, term_id)
);
create index course_evaluations_course on course_evaluations (course_id);
