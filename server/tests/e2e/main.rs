//! The server's tests, in one binary: the store conformance suite and the HTTP end-to-end
//! scenarios, each run against SQLite and (when PostgreSQL binaries are available, see
//! `mfa-devices-testkit`) PostgreSQL; and the two-process concurrency test on PostgreSQL.

mod common;
mod concurrency;
mod conformance;
mod faults;
mod http_activities;
mod http_authentications;
mod http_crest;
mod http_devices;
mod http_fido;
mod http_policies;
mod http_security;
mod openapi;
mod shutdown;
