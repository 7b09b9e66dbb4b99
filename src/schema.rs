// @generated automatically by Diesel CLI.

diesel::table! {
    app_secrets (name) {
        name -> Text,
        value -> Bytea,
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
    sign_in_failures (id) {
        id -> Int8,
        realm -> Text,
        account -> Text,
        ip -> Text,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    sign_in_lockouts (realm, scope_key) {
        realm -> Text,
        scope_key -> Text,
        locked_until -> Timestamptz,
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
    }
}

diesel::table! {
    web_sessions (key_hash) {
        key_hash -> Bytea,
        realm -> Text,
        state -> Jsonb,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::joinable!(tenant_users -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    app_secrets,
    provider_staff,
    sign_in_failures,
    sign_in_lockouts,
    tenant_users,
    tenants,
    web_sessions,
);
