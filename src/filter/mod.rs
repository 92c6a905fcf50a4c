//! SCIM 2.0 filters (RFC 7644 §3.4.2.2). Filled by the filter engine work.
pub mod ast;
