-- A school's meal refund batch (issue #16, R-T13) sends one WeChat refund per original
-- payment: the refund's row names its first line, and the ledger's reservations under its
-- `out_refund_no` split it over every line of that payment it gives back.
alter table platform.refunds drop constraint refunds_source_check;
alter table platform.refunds add constraint refunds_source_check
    check (source in ('withdrawal', 'admin', 'auto', 'meal'));
