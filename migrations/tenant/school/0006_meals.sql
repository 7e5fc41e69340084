-- School tenant: meals (issue #16; R-S07 items and packages, R-S05 meal rules, R-P07
-- ordering, R-P11 who eats at school, R-P12 meal records).
--
-- A meal order is one child, one item or package, one ordering period: the served days of
-- the period are written into the order when it is placed, and the price is per served day,
-- so the escrow releases one day at a time (`platform.order_lines`, release rule per_day)
-- and a stopped day refunds exactly its price.

-- 餐别: breakfast 早餐 | lunch 午餐 | afternoon_tea 下午茶 | dinner 晚餐. Allergens are the
-- eight groups of GB 7718: gluten 含麸质谷物, crustacean 甲壳类, fish 鱼类, egg 蛋类, peanut
-- 花生, soy 大豆, milk 乳, tree_nut 坚果.
create table meal_items (
    id             bigint generated always as identity primary key,
    code           text   not null unique check (code ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    kind           text   not null check (kind in ('breakfast', 'lunch', 'afternoon_tea', 'dinner')),
    name           text   not null check (length(name) between 1 and 30),
    description    text   not null default '' check (length(description) <= 500),
    -- yuan per served day
    price          numeric(8, 2) not null check (price > 0 and price <= 200),
    levels         smallint[] not null check (cardinality(levels) > 0
                       and levels <@ array[1,2,3,4,5,6,7,8,9]::smallint[]),
    -- children per served day; null: no limit
    daily_capacity int check (daily_capacity between 1 and 20000),
    allergens      text[] not null default '{}' check (allergens <@ array['gluten','crustacean',
                       'fish','egg','peanut','soy','milk','tree_nut']::text[]),
    status         text   not null default 'draft' check (status in ('draft', 'published', 'withdrawn')),
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);

-- 套餐: several items of different kinds at the package's own price per served day. A grade
-- may order it when every item is for that grade.
create table meal_packages (
    id         bigint generated always as identity primary key,
    code       text   not null unique check (code ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    name       text   not null check (length(name) between 1 and 30),
    price      numeric(8, 2) not null check (price > 0 and price <= 200),
    status     text   not null default 'draft' check (status in ('draft', 'published', 'withdrawn')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table meal_package_items (
    package_id bigint not null references meal_packages (id) on delete cascade,
    item_id    bigint not null references meal_items (id) on delete restrict,
    primary key (package_id, item_id)
);
create index meal_package_items_item on meal_package_items (item_id);

-- The week's menu: what an item serves on a day, with an optional picture.
create table meal_menus (
    item_id bigint not null references meal_items (id) on delete cascade,
    day     date   not null,
    dishes  text   not null check (length(dishes) between 1 and 200),
    picture text,
    primary key (item_id, day)
);

-- The school's meal rules (one row): the ordering period is a calendar month or a term; its
-- window opens at the start of the day `opens_days_before` days before the period starts and
-- closes at the end of the day `closes_days_before` days before it; tomorrow's meal can be stopped until
-- `stop_cutoff` today; an unpaid order keeps its place `hold_minutes`.
create table meal_rules (
    id                 boolean primary key default true check (id),
    period             text not null default 'month' check (period in ('month', 'term')),
    opens_days_before  int  not null default 15 check (opens_days_before between 1 and 90),
    closes_days_before int  not null default 1 check (closes_days_before between 1 and 30),
    stop_cutoff        time not null default '15:00',
    hold_minutes       int  not null default 120 check (hold_minutes between 5 and 1440),
    updated_at         timestamptz not null default now(),
    check (closes_days_before < opens_days_before)
);
insert into meal_rules default values;

-- Days the canteen does not serve although school runs (排除日期).
create table meal_excluded_days (
    day    date primary key,
    reason text not null check (length(reason) between 1 and 50)
);

-- A child's allergies, sealed with the data key (health data): the allergen groups and a
-- note, as JSON.
create table student_allergies (
    student_id bigint primary key references students (id) on delete cascade,
    sealed     bytea  not null,
    updated_by bigint not null,
    updated_at timestamptz not null
);

create table meal_orders (
    id              bigint generated always as identity primary key,
    student_id      bigint not null references students (id),
    item_id         bigint references meal_items (id),
    package_id      bigint references meal_packages (id),
    period_start    date   not null,
    period_end      date   not null check (period_end >= period_start),
    -- the served days the order pays for, ascending
    days            date[] not null check (cardinality(days) between 1 and 200),
    -- yuan per served day, and in all (price × days)
    price           numeric(8, 2) not null check (price > 0),
    amount          numeric(10, 2) not null check (amount > 0),
    -- held: waiting for payment until hold_expires_at
    status          text   not null check (status in ('held', 'confirmed', 'expired', 'cancelled')),
    hold_expires_at timestamptz,
    ordered_by      bigint not null,
    created_at      timestamptz not null,
    confirmed_at    timestamptz,
    ended_at        timestamptz,
    check ((item_id is null) <> (package_id is null)),
    check (status <> 'held' or hold_expires_at is not null)
);
create index meal_orders_student on meal_orders (student_id, period_start);
create index meal_orders_expiring on meal_orders (hold_expires_at) where status = 'held';
create index meal_orders_live on meal_orders (period_start) where status in ('held', 'confirmed');
-- the canteen count of a day: the confirmed orders whose days contain it
create index meal_orders_days on meal_orders using gin (days) where status = 'confirmed';

-- What a live order takes: each meal kind of the child in the period, once. The primary key
-- refuses a second lunch for the same child and period whatever the concurrency.
create table meal_order_slots (
    student_id    bigint not null,
    period_start  date   not null,
    kind          text   not null,
    meal_order_id bigint not null references meal_orders (id),
    primary key (student_id, period_start, kind)
);
create index meal_order_slots_order on meal_order_slots (meal_order_id);

-- One counter row per item with a daily capacity and period: an order takes a place with one
-- guarded update (taken < capacity), so capacity holds whatever the concurrency.
create table meal_capacity (
    item_id      bigint not null references meal_items (id),
    period_start date   not null,
    capacity     int    not null check (capacity >= 0),
    taken        int    not null default 0 check (taken >= 0 and taken <= capacity),
    primary key (item_id, period_start)
);

-- 停餐 (R-P08, R-T10): a parent asks to stop a child's meals for a day or a range, with a
-- reason, and the homeroom teacher decides; a homeroom teacher or an admin registers one
-- directly (approved at once). A stop covers the child's paid orders on those days; each
-- stopped day of an order is one row of `meal_stop_days`, whose key refuses a day stopped
-- twice. A rejected or withdrawn stop gives its days back. The refund of the approved
-- days is made by the school's refund batch (`refund_*` follow it).
create table meal_stops (
    id             bigint generated always as identity primary key,
    student_id     bigint not null references students (id),
    first_day      date   not null,
    last_day       date   not null check (last_day >= first_day),
    reason         text   not null check (length(reason) between 1 and 200),
    status         text   not null check (status in ('pending', 'approved', 'rejected', 'withdrawn')),
    requested_by   bigint not null,
    requested_at   timestamptz not null,
    -- registered by a homeroom teacher or an admin (approved at once)
    by_staff       boolean not null default false,
    reviewed_by    bigint,
    reviewed_at    timestamptz,
    review_comment text check (length(review_comment) <= 200),
    -- what the approved days are worth back, and where their refund is
    refund_amount  numeric(10, 2),
    refund_status  text check (refund_status in ('processing', 'refunded', 'failed')),
    check (status <> 'pending' or reviewed_at is null)
);
create index meal_stops_student on meal_stops (student_id, first_day);
create index meal_stops_pending on meal_stops (requested_at) where status = 'pending';

create table meal_stop_days (
    stop_id       bigint not null references meal_stops (id),
    meal_order_id bigint not null references meal_orders (id),
    day           date   not null,
    primary key (meal_order_id, day)
);
create index meal_stop_days_stop on meal_stop_days (stop_id);
