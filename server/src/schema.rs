//! The reference DDL the server applies on every start (idempotent: `IF NOT EXISTS`).
//!
//! Ids are stored as text (the canonical hyphenated UUID) on both databases, so SQL generated
//! from a SCIM filter binds them as plain text parameters.
//!
//! Moves into the crate as `mfa_devices::user_devices::schema::{POSTGRES, SQLITE}` once that
//! module lands; the server then applies exactly those.

/// PostgreSQL DDL.
pub const POSTGRES: &str = r#"
-- The event log of each user's devices aggregate: one row per event. The primary key is the
-- compare-and-swap: two commands decided from the same revision collide on revision + 1.
CREATE TABLE IF NOT EXISTS user_device_events (
    environment_id text NOT NULL,
    user_id        text NOT NULL,
    revision       bigint NOT NULL CHECK (revision > 0),
    recorded_at    timestamptz NOT NULL,
    event_type     text NOT NULL,
    event          jsonb NOT NULL,
    PRIMARY KEY (environment_id, user_id, revision)
);
-- The aggregate's snapshot after its last event (revision = the last event's revision).
CREATE TABLE IF NOT EXISTS user_devices (
    environment_id text NOT NULL,
    user_id        text NOT NULL,
    revision       bigint NOT NULL,
    snapshot       jsonb NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (environment_id, user_id)
);
-- Read model: one row per device, the device JSON body in doc.
CREATE TABLE IF NOT EXISTS devices (
    environment_id text NOT NULL,
    user_id        text NOT NULL,
    id             text NOT NULL,
    type           text NOT NULL,
    status         text NOT NULL,
    nickname       text,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    doc            jsonb NOT NULL,
    PRIMARY KEY (environment_id, user_id, id)
);
-- Device authentication flows in their stored form; version is the compare-and-swap.
CREATE TABLE IF NOT EXISTS device_authentications (
    environment_id text NOT NULL,
    id             text NOT NULL,
    user_id        text NOT NULL,
    version        bigint NOT NULL,
    status         text NOT NULL,
    flow           jsonb NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (environment_id, id)
);
-- Device authentication policies (the body in doc).
CREATE TABLE IF NOT EXISTS device_authentication_policies (
    environment_id text NOT NULL,
    id             text NOT NULL,
    is_default     boolean NOT NULL,
    doc            jsonb NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (environment_id, id)
);
-- Audit activities (DEVICE.* events), PingOne's activity JSON in doc.
CREATE TABLE IF NOT EXISTS activities (
    environment_id text NOT NULL,
    id             text NOT NULL,
    recorded_at    timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    action_type    text NOT NULL,
    result_status  text NOT NULL,
    user_id        text NOT NULL,
    device_id      text,
    correlation_id text,
    doc            jsonb NOT NULL,
    PRIMARY KEY (environment_id, id)
);
CREATE INDEX IF NOT EXISTS activities_recorded_at ON activities (environment_id, recorded_at);
CREATE INDEX IF NOT EXISTS activities_action_type ON activities (environment_id, action_type, recorded_at);
"#;

/// SQLite DDL (timestamps as RFC 3339 text, JSON as text).
pub const SQLITE: &str = r#"
CREATE TABLE IF NOT EXISTS user_device_events (
    environment_id TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    revision       INTEGER NOT NULL CHECK (revision > 0),
    recorded_at    TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    event          TEXT NOT NULL,
    PRIMARY KEY (environment_id, user_id, revision)
);
CREATE TABLE IF NOT EXISTS user_devices (
    environment_id TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    revision       INTEGER NOT NULL,
    snapshot       TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (environment_id, user_id)
);
CREATE TABLE IF NOT EXISTS devices (
    environment_id TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    id             TEXT NOT NULL,
    type           TEXT NOT NULL,
    status         TEXT NOT NULL,
    nickname       TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    doc            TEXT NOT NULL,
    PRIMARY KEY (environment_id, user_id, id)
);
CREATE TABLE IF NOT EXISTS device_authentications (
    environment_id TEXT NOT NULL,
    id             TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    version        INTEGER NOT NULL,
    status         TEXT NOT NULL,
    flow           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (environment_id, id)
);
CREATE TABLE IF NOT EXISTS device_authentication_policies (
    environment_id TEXT NOT NULL,
    id             TEXT NOT NULL,
    is_default     INTEGER NOT NULL,
    doc            TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (environment_id, id)
);
CREATE TABLE IF NOT EXISTS activities (
    environment_id TEXT NOT NULL,
    id             TEXT NOT NULL,
    recorded_at    TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    action_type    TEXT NOT NULL,
    result_status  TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    device_id      TEXT,
    correlation_id TEXT,
    doc            TEXT NOT NULL,
    PRIMARY KEY (environment_id, id)
);
CREATE INDEX IF NOT EXISTS activities_recorded_at ON activities (environment_id, recorded_at);
CREATE INDEX IF NOT EXISTS activities_action_type ON activities (environment_id, action_type, recorded_at);
"#;
