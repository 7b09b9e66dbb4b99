DROP TABLE app_secrets;
DROP TABLE sign_in_lockouts;
DROP TABLE sign_in_failures;
DROP TABLE web_sessions;
DROP TABLE provider_staff;
DROP TABLE tenant_users;
DROP TABLE tenants;
