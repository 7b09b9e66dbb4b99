-- audit_page (migration 000600) is planned once per session and kept.
-- PL/pgSQL prepares its query once but, like any prepared statement,
-- plans it for the call's values until the plan for unknown values (the
-- generic plan) looks no dearer. With the limit a parameter, the generic
-- plan guesses a page is a tenth of the tenant's records and never looks
-- cheap enough: every page was planned afresh. The generic plan here is
-- the ordered index scan that stops at the page's end (sorting is off),
-- right for every tenant and cursor, so it is forced; and without
-- parallel workers: guessing a tenth of a million-record log, the generic
-- plan started two workers for every page of 51 rows, 8 ms a call. With
-- a million records: 130-153 us a call, where planning every call took
-- 233-322 us.
ALTER FUNCTION audit_page(uuid, timestamptz, bigint, bigint)
    SET plan_cache_mode = force_generic_plan
    SET max_parallel_workers_per_gather = 0;
