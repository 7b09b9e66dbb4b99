// @generated automatically by Diesel CLI.

diesel::table! {
    access_request_events (id) {
        id -> Int8,
        request_id -> Uuid,
        occurred_at -> Timestamptz,
        event -> Text,
        to_status -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Uuid>,
        actor_name -> Text,
        comment -> Nullable<Text>,
    }
}

diesel::table! {
    access_requests (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        engineer_id -> Uuid,
        service_request -> Text,
        workload -> Text,
        duration_minutes -> Int4,
        justification -> Text,
        status -> Text,
        created_at -> Timestamptz,
        manager_id -> Nullable<Uuid>,
        manager_decided_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
        approved_at -> Nullable<Timestamptz>,
        ends_at -> Nullable<Timestamptz>,
        closed_at -> Nullable<Timestamptz>,
        ticket_id -> Nullable<Uuid>,
        approvals_required -> Nullable<Int2>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Uuid,
        realm -> Text,
        tenant_id -> Nullable<Uuid>,
        user_id -> Nullable<Uuid>,
        staff_id -> Nullable<Uuid>,
        name -> Text,
        scope -> Text,
        secret_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    app_secrets (name) {
        name -> Text,
        value -> Bytea,
    }
}

diesel::table! {
    audit_chain (tenant_id, seq) {
        tenant_id -> Uuid,
        seq -> Int8,
        record_id -> Int8,
        prev_hash -> Bytea,
        hash -> Bytea,
    }
}

diesel::table! {
    audit_checkpoints (tenant_id, seq) {
        tenant_id -> Uuid,
        seq -> Int8,
        head_hash -> Bytea,
        record_count -> Int8,
        created_at -> Timestamptz,
        key_id -> Text,
        signature -> Bytea,
    }
}

diesel::table! {
    checkpoint_digests (tenant_id, sent_on) {
        tenant_id -> Uuid,
        sent_on -> Date,
        seq -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    decision_receipts (tenant_id, audit_record) {
        tenant_id -> Uuid,
        audit_record -> Int8,
        request_id -> Uuid,
        decision -> Text,
        approver -> Text,
        approver_name -> Text,
        comment_sha256 -> Bytea,
        decided_at -> Timestamptz,
        request_fingerprint -> Bytea,
        key_id -> Text,
        signature -> Bytea,
    }
}

diesel::table! {
    audit_records (tenant_id, id) {
        id -> Int8,
        tenant_id -> Uuid,
        occurred_at -> Timestamptz,
        actor_id -> Text,
        actor_name -> Text,
        ip -> Text,
        activity -> Text,
        item -> Text,
        parameters -> Jsonb,
        request_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    document_versions (document_id, version) {
        document_id -> Uuid,
        version -> Int4,
        modified_by -> Text,
        modified_at -> Timestamptz,
        size_bytes -> Int4,
    }
}

diesel::table! {
    documents (id) {
        id -> Uuid,
        site_id -> Uuid,
        path -> Text,
        title -> Text,
        body -> Text,
    }
}

diesel::table! {
    drive_file_versions (file_id, version) {
        file_id -> Uuid,
        version -> Int4,
        modified_at -> Timestamptz,
        size_bytes -> Int4,
    }
}

diesel::table! {
    drive_files (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        owner -> Text,
        path -> Text,
    }
}

diesel::table! {
    language_preferences (realm, account_id) {
        realm -> Text,
        account_id -> Uuid,
        lang -> Text,
        updated_at -> Timestamptz,
        chosen -> Bool,
    }
}

diesel::table! {
    mail_messages (id) {
        id -> Uuid,
        mailbox_id -> Uuid,
        sender -> Text,
        recipients -> Text,
        subject -> Text,
        body -> Text,
        received_at -> Timestamptz,
        size_bytes -> Int4,
    }
}

diesel::table! {
    mailboxes (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        address -> Text,
        display_name -> Text,
    }
}

diesel::table! {
    outbox (id) {
        id -> Uuid,
        message_id -> Text,
        kind -> Text,
        request_id -> Nullable<Uuid>,
        to_address -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    provider_staff (id) {
        id -> Uuid,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    request_information (id) {
        id -> Int8,
        request_id -> Uuid,
        kind -> Text,
        occurred_at -> Timestamptz,
        actor_kind -> Text,
        actor_id -> Uuid,
        actor_name -> Text,
        body -> Text,
    }
}

diesel::table! {
    service_request_messages (id) {
        id -> Int8,
        ticket_id -> Uuid,
        created_at -> Timestamptz,
        author_kind -> Text,
        author_id -> Uuid,
        author_name -> Text,
        body -> Text,
    }
}

diesel::table! {
    service_requests (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        number -> Text,
        title -> Text,
        description -> Text,
        workload -> Text,
        severity -> Text,
        status -> Text,
        opened_by -> Uuid,
        opener_name -> Text,
        opened_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
        closed_by_name -> Nullable<Text>,
    }
}

diesel::table! {
    sign_in_counters (realm, scope_key) {
        realm -> Text,
        scope_key -> Text,
        window_start -> Timestamptz,
        attempts -> Int4,
        last_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sign_in_lockouts (id) {
        id -> Int8,
        realm -> Text,
        scope_key -> Text,
        organization -> Nullable<Text>,
        email -> Text,
        network -> Text,
        locked_at -> Timestamptz,
        locked_until -> Timestamptz,
        refused -> Int4,
    }
}

diesel::table! {
    sites (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        path -> Text,
        title -> Text,
    }
}

diesel::table! {
    tenant_users (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tenants (id) {
        id -> Uuid,
        name -> Text,
        lockbox_enabled -> Bool,
        created_at -> Timestamptz,
        require_two_factor -> Bool,
        approvals_required -> Int2,
        time_zone -> Text,
    }
}

diesel::table! {
    time_zone_preferences (realm, account_id) {
        realm -> Text,
        account_id -> Uuid,
        zone -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    web_sessions (key_hash) {
        key_hash -> Bytea,
        realm -> Text,
        state -> Jsonb,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        principal_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    recovery_codes (realm, account_id, code_hash) {
        realm -> Text,
        account_id -> Uuid,
        code_hash -> Bytea,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    request_reminders (request_id) {
        request_id -> Uuid,
        sent_at -> Timestamptz,
    }
}

diesel::table! {
    second_factors (realm, account_id) {
        realm -> Text,
        account_id -> Uuid,
        secret -> Bytea,
        last_step -> Int8,
        enrolled_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        tenant_id -> Nullable<Uuid>,
        url -> Text,
        events -> Array<Text>,
        secret -> Bytea,
        enabled -> Bool,
        failing_since -> Nullable<Timestamptz>,
        disabled_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        failures -> Int4,
        resting_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        message_id -> Text,
        endpoint_id -> Uuid,
        tenant_id -> Nullable<Uuid>,
        event_type -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_attempt_at -> Nullable<Timestamptz>,
        last_status -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(access_request_events -> access_requests (request_id));
diesel::joinable!(api_tokens -> provider_staff (staff_id));
diesel::joinable!(checkpoint_digests -> tenants (tenant_id));
diesel::joinable!(api_tokens -> tenant_users (user_id));
diesel::joinable!(api_tokens -> tenants (tenant_id));
diesel::joinable!(access_requests -> tenants (tenant_id));
diesel::joinable!(document_versions -> documents (document_id));
diesel::joinable!(documents -> sites (site_id));
diesel::joinable!(drive_file_versions -> drive_files (file_id));
diesel::joinable!(drive_files -> tenants (tenant_id));
diesel::joinable!(mail_messages -> mailboxes (mailbox_id));
diesel::joinable!(mailboxes -> tenants (tenant_id));
diesel::joinable!(outbox -> access_requests (request_id));
diesel::joinable!(request_information -> access_requests (request_id));
diesel::joinable!(request_reminders -> access_requests (request_id));
diesel::joinable!(service_request_messages -> service_requests (ticket_id));
diesel::joinable!(service_requests -> tenants (tenant_id));
diesel::joinable!(sites -> tenants (tenant_id));
diesel::joinable!(tenant_users -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    access_request_events,
    access_requests,
    api_tokens,
    app_secrets,
    audit_chain,
    audit_checkpoints,
    audit_records,
    checkpoint_digests,
    decision_receipts,
    document_versions,
    documents,
    drive_file_versions,
    drive_files,
    language_preferences,
    mail_messages,
    mailboxes,
    outbox,
    provider_staff,
    recovery_codes,
    request_information,
    request_reminders,
    second_factors,
    service_request_messages,
    service_requests,
    sign_in_counters,
    sign_in_lockouts,
    sites,
    tenant_users,
    webhook_deliveries,
    webhook_endpoints,
    tenants,
    time_zone_preferences,
    web_sessions,
);
