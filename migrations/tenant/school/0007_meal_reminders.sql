-- 一键催缴 (issue #16, R-T09): at most one reminder a day per parent, whoever sends it.
create table meal_reminders (
    account_id   bigint not null,
    day          date   not null,
    period_start date   not null,
    sent_by      bigint not null,
    sent_at      timestamptz not null,
    primary key (account_id, day)
);
