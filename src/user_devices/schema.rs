//! The reference SQL schema for storing user devices, shipped as data: `CREATE … IF NOT EXISTS`
//! statements a server applies on every start (idempotent), for PostgreSQL ([`POSTGRES`]) and
//! SQLite ([`SQLITE`]). The reference server (`mfa-devices-server`) applies exactly these.
//!
//! | table | what it holds | key |
//! |---|---|---|
//! | `user_device_events` | the event log of each user's [`UserDevices`](super::UserDevices): one [`Event`](super::Event) JSON per row | `PRIMARY KEY (environment_id, user_id, revision)` |
//! | `user_devices` | the snapshot (the aggregate's serde form) after the last event, with its `revision` | `(environment_id, user_id)` |
//! | `devices` | read model: one row per device (`type`, `status`, `nickname`, `created_at`, `updated_at`, the device JSON in `doc`) | `(environment_id, user_id, id)` |
//! | `device_authentications` | device authentication flows in their stored form, `version` for compare-and-swap | `(environment_id, id)` |
//! | `device_authentication_policies` | policies (JSON body in `doc`), `is_default` | `(environment_id, id)` |
//! | `activities` | audit activities (PingOne's activity JSON in `doc`), indexed by `recorded_at` and `action_type` | `(environment_id, id)` |
//!
//! The persistence contract these tables serve: a command's events, the snapshot and the read
//! models commit in ONE transaction; the event log's primary key is the compare-and-swap (two
//! commands decided at the same revision both write `revision + 1`: the second fails and is
//! decided again from a fresh load); a command without events writes nothing.
//!
//! Ids are stored as text (the lower-case hyphenated UUID) on both databases, so SQL generated
//! from a SCIM filter binds them as plain text; timestamps are `timestamptz` on PostgreSQL and
//! RFC 3339 text (milliseconds, `Z`) on SQLite; JSON is `jsonb` / text.
//!
//! ```
//! use mfa_devices::user_devices::schema::{POSTGRES, SQLITE};
//! for ddl in [POSTGRES, SQLITE] {
//!     assert!(ddl.contains("PRIMARY KEY (environment_id, user_id, revision)"));
//!     // Every statement is idempotent.
//!     for statement in ddl.split(';').map(str::trim).filter(|s| s.contains("CREATE")) {
//!         assert!(statement.contains("IF NOT EXISTS"), "{statement}");
//!     }
//! }
//! ```

/// PostgreSQL DDL (idempotent).
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

/// SQLite DDL (idempotent; timestamps as RFC 3339 text, JSON as text).
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
