//! Two server processes on one PostgreSQL database (added below).
