//! The SQL push-down (`filter::sql`) proven against the evaluator on real databases.
mod common;
mod compare;
mod explain;
mod fuzz;
mod pg;
mod postgres;
#[path = "../../fuzz/src/sql.rs"]
mod sql_body;
mod sqlite;
mod typed;
