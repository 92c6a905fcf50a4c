//! [`FilterError`]: why a filter text did not parse, and where.

use std::fmt;

use crate::error::{ApiError, DetailCode, ErrorDetail};

/// What went wrong while parsing a filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FilterErrorKind {
    /// Something else was expected here; the text names it (`"a compare operator"`,
    /// `"')'"`, `"an attribute path"`, `"end of input"`).
    Expected(&'static str),
    /// A string literal is not closed.
    UnterminatedString,
    /// A backslash escape inside a string is invalid (or a lone surrogate in `\u` escapes).
    InvalidEscape,
    /// A number literal is malformed or out of range.
    InvalidNumber,
    /// The input is longer than [`ParseOptions`](super::ParseOptions) allow (bytes).
    TooLong {
        /// The configured maximum, in bytes.
        max: usize,
    },
    /// Parentheses / `not` / value paths nest deeper than allowed.
    TooDeep {
        /// The configured maximum depth.
        max: usize,
    },
    /// A value path where none may stand: inside another value path's filter
    /// (`emails[type eq "work" and emails[type eq "home"]]`, refused by RFC 7644 errata 4690 and
    /// Ping's SCIM 2 SDK), or on a sub-attribute (`emails.type[type eq "work"]`, which has no
    /// meaning: a value filter selects elements of a multi-valued complex attribute). The text
    /// says which; the offset is the `[`.
    InvalidValuePath(&'static str),
    /// The construct is valid in one filter language but has no equivalent in the target one
    /// (e.g. a CREST extended operator rendered as SCIM, a SCIM value path rendered as CREST).
    Unsupported(String),
}

impl FilterErrorKind {
    /// The kind's name, stable and machine-readable (`"Expected"`, `"TooDeep"`, …), for logs and
    /// conformance tables.
    ///
    /// ```
    /// use mfa_devices::filter::FilterErrorKind;
    /// assert_eq!(FilterErrorKind::TooDeep { max: 64 }.name(), "TooDeep");
    /// assert_eq!(FilterErrorKind::Expected("')'").name(), "Expected");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Self::Expected(_) => "Expected",
            Self::UnterminatedString => "UnterminatedString",
            Self::InvalidEscape => "InvalidEscape",
            Self::InvalidNumber => "InvalidNumber",
            Self::TooLong { .. } => "TooLong",
            Self::TooDeep { .. } => "TooDeep",
            Self::InvalidValuePath(_) => "InvalidValuePath",
            Self::Unsupported(_) => "Unsupported",
        }
    }
}

/// A filter parse (or conversion) error: its kind and the byte offset in the input where it was
/// found.
///
/// ```
/// use mfa_devices::filter::{FilterError, FilterErrorKind};
/// let e = FilterError::new(FilterErrorKind::Expected("a compare operator"), 7);
/// assert_eq!(e.offset(), 7);
/// assert_eq!(e.to_string(), "expected a compare operator at byte 7");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FilterError {
    kind: FilterErrorKind,
    offset: usize,
}

impl FilterError {
    /// An error of `kind` at byte `offset` of the input.
    pub fn new(kind: FilterErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }

    /// What went wrong.
    pub fn kind(&self) -> &FilterErrorKind {
        &self.kind
    }

    /// The byte offset in the input where the problem was found.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.offset;
        match &self.kind {
            FilterErrorKind::Expected(what) => write!(f, "expected {what} at byte {at}"),
            FilterErrorKind::UnterminatedString => {
                write!(f, "unterminated string starting at byte {at}")
            }
            FilterErrorKind::InvalidEscape => write!(f, "invalid escape sequence at byte {at}"),
            FilterErrorKind::InvalidNumber => write!(f, "invalid number at byte {at}"),
            FilterErrorKind::TooLong { max } => {
                write!(f, "filter is longer than the maximum of {max} bytes")
            }
            FilterErrorKind::TooDeep { max } => {
                write!(
                    f,
                    "filter nests deeper than the maximum of {max} at byte {at}"
                )
            }
            FilterErrorKind::InvalidValuePath(why) => {
                write!(f, "invalid value path at byte {at}: {why}")
            }
            FilterErrorKind::Unsupported(what) => {
                write!(
                    f,
                    "{what} cannot be expressed in the target filter language"
                )
            }
        }
    }
}

impl std::error::Error for FilterError {}

impl From<FilterError> for ApiError {
    /// HTTP 400 `INVALID_DATA` with one `INVALID_FILTER` detail targeting `filter`.
    fn from(e: FilterError) -> Self {
        ApiError::invalid_data(
            "The request could not be completed. One or more validation errors were in the request.",
            vec![ErrorDetail::new(
                DetailCode::InvalidFilter,
                "filter",
                e.to_string(),
            )],
        )
    }
}
