ALTER FUNCTION audit_page(uuid, timestamptz, bigint, bigint)
    RESET plan_cache_mode
    RESET max_parallel_workers_per_gather;
