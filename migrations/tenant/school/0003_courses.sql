-- School tenant: after-school offerings and enrollment (issue #5, R-S06, R-P02..R-P04, F2).

-- An offering: custody (午托/晚托, priced per served day from the term calendar) or a
-- club/training course (priced per course). A series course is a parent row whose
-- sub-items (parent_id set) are booked together or one by one.
create table courses (
    id              bigint generated always as identity primary key,
    code            text   not null unique check (code ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    parent_id       bigint references courses (id) on delete restrict,
    -- F2 班级类型: custody 托管 | training 培训
    class_type      text   not null check (class_type in ('custody', 'training')),
    name            text   not null check (length(name) between 1 and 50),
    category        text   not null check (length(category) between 1 and 20),
    intro           text   not null default '' check (length(intro) <= 2000),
    term_id         bigint not null references terms (id),
    period_id       bigint references periods (id) on delete restrict,
    venue_id        bigint references venues (id) on delete restrict,
    -- weekly schedule within the term: ISO weekdays and a time of day
    weekdays        smallint[] not null check (weekdays <@ array[1,2,3,4,5,6,7]::smallint[] and cardinality(weekdays) > 0),
    starts_at       time   not null,
    ends_at         time   not null check (ends_at > starts_at),
    starts_on       date   not null,
    ends_on         date   not null check (ends_on >= starts_on),
    capacity        int    not null check (capacity between 1 and 2000),
    -- yuan; per_day: custody charged per served day, per_course: one price
    price           numeric(10, 2) not null check (price >= 0 and price <= 100000),
    pricing         text   not null check (pricing in ('per_day', 'per_course')),
    -- grade levels that may book (1..9)
    eligible_levels smallint[] not null check (cardinality(eligible_levels) > 0
                        and eligible_levels <@ array[1,2,3,4,5,6,7,8,9,10,11,12]::smallint[]),
    reg_opens_at    timestamptz not null,
    reg_closes_at   timestamptz not null check (reg_closes_at > reg_opens_at),
    allocation      text   not null default 'fcfs' check (allocation in ('fcfs', 'lottery')),
    hold_minutes    int    not null default 30 check (hold_minutes between 5 and 1440),
    pictures        text[] not null default '{}' check (cardinality(pictures) <= 6),
    status          text   not null default 'draft' check (status in ('draft', 'published', 'closed')),
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now()
);
create index courses_parent on courses (parent_id) where parent_id is not null;
create index courses_term on courses (term_id, status);

create table course_teachers (
    course_id bigint not null references courses (id) on delete cascade,
    staff_id  bigint not null references staff (id) on delete restrict,
    primary key (course_id, staff_id)
);
create index course_teachers_staff on course_teachers (staff_id);

-- One counter row per course: a booking takes a seat with one guarded update
-- (taken < capacity), so capacity holds whatever the concurrency.
create table course_seats (
    course_id bigint primary key references courses (id) on delete cascade,
    capacity  int not null check (capacity >= 0),
    taken     int not null default 0 check (taken >= 0 and taken <= capacity)
);

create table enrollments (
    id              bigint generated always as identity primary key,
    course_id       bigint not null references courses (id),
    student_id      bigint not null references students (id),
    -- held: place reserved until hold_expires_at, waiting for payment
    status          text   not null check (status in ('held', 'confirmed', 'expired', 'cancelled', 'withdrawn')),
    hold_expires_at timestamptz,
    booked_by       bigint not null,
    created_at      timestamptz not null default now(),
    confirmed_at    timestamptz,
    ended_at        timestamptz,
    end_reason      text,
    check (status <> 'held' or hold_expires_at is not null)
);
-- one live enrollment per child and course
create unique index enrollments_live on enrollments (course_id, student_id)
    where status in ('held', 'confirmed');
create index enrollments_student on enrollments (student_id) where status in ('held', 'confirmed');
create index enrollments_expiring on enrollments (hold_expires_at) where status = 'held';

-- Waitlist of a full course, and the applications of a lottery course. An offer to the
-- first in line is a held enrollment (the freed seat is reserved for them) that expires
-- like any hold; then the next in line gets one.
create table waitlist (
    id               bigint generated always as identity primary key,
    course_id        bigint not null references courses (id),
    student_id       bigint not null references students (id),
    -- applied: lottery application before the draw; waiting: in line; offered: a hold
    -- was made for them; accepted/expired/left/lost: done
    status           text   not null check (status in ('applied', 'waiting', 'offered', 'accepted', 'expired', 'left', 'lost')),
    -- order in line: join order, or the draw's order for a lottery course
    position         bigint not null,
    joined_by        bigint not null,
    joined_at        timestamptz not null,
    enrollment_id    bigint references enrollments (id),
    updated_at       timestamptz not null
);
create unique index waitlist_live on waitlist (course_id, student_id)
    where status in ('applied', 'waiting', 'offered');
create index waitlist_queue on waitlist (course_id, position) where status = 'waiting';

-- A lottery is drawn once, from a recorded seed, so anyone can replay it.
create table lottery_draws (
    course_id  bigint primary key references courses (id),
    seed       bigint not null,
    drawn_at   timestamptz not null,
    drawn_by   bigint not null,
    applicants int not null,
    winners    int not null
);

-- R-P05 withdrawal and R-P14 class transfer: the parent asks with a reason, the homeroom
-- teacher decides with a comment.
create table enrollment_requests (
    id               bigint generated always as identity primary key,
    kind             text   not null check (kind in ('withdraw', 'transfer')),
    enrollment_id    bigint not null references enrollments (id),
    target_course_id bigint references courses (id),
    reason           text   not null check (length(reason) between 1 and 500),
    status           text   not null check (status in ('pending', 'approved', 'rejected', 'cancelled')),
    requested_by     bigint not null,
    requested_at     timestamptz not null,
    reviewed_by      bigint,
    reviewed_at      timestamptz,
    review_comment   text check (length(review_comment) <= 500),
    check ((kind = 'transfer') = (target_course_id is not null))
);
create unique index enrollment_requests_pending on enrollment_requests (enrollment_id)
    where status = 'pending';

-- What an approved withdrawal owes back; the payments issue settles it.
create table refund_requests (
    id            bigint generated always as identity primary key,
    enrollment_id bigint not null references enrollments (id),
    request_id    bigint references enrollment_requests (id),
    reason        text not null,
    status        text not null default 'requested' check (status in ('requested', 'processing', 'refunded', 'failed')),
    created_at    timestamptz not null
);
create unique index refund_requests_enrollment on refund_requests (enrollment_id);
