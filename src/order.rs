//! Filled by its issue's work.
