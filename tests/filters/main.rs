//! Integration tests of the filter languages: SCIM 2.0 filters (`mfa_devices::filter`) and the
//! Advanced Identity Cloud's CREST `_queryFilter` (`mfa_devices::crest`). One test binary, one
//! module per concern; fixtures in `tests/fixtures/scim/` and `tests/fixtures/crest/`.

/// The SCIM filter conformance table.
mod conformance;
/// SCIM evaluation semantics, interpreted and compiled.
mod eval;
/// Hostile SCIM input: size and depth limits.
mod hardening;
/// SCIM property tests: round-trips, compiled vs interpreted.
mod props;

/// CREST ⇄ SCIM conversion and CREST evaluation.
mod crest_convert;
/// The CREST `_queryFilter` parser and renderer.
mod crest_filter;
/// The Advanced Identity Cloud device-list models.
mod crest_models;
/// The CREST paged query engine.
mod crest_query;
