//! SCIM 2.0 filters (RFC 7644 §3.4.2.2). Filled by the filter engine work.
pub mod ast;
mod error;

pub use error::{FilterError, FilterErrorKind};

use ast::Expr;

/// A parsed filter. Build one with the SCIM parser or from an [`Expr`].
///
/// ```
/// use mfa_devices::filter::{Filter, ast::{AttrPath, CompareOp, CompValue, Expr}};
/// let f = Filter::from_expr(Expr::Compare(
///     AttrPath::new(["status"]), CompareOp::Eq, CompValue::String("ACTIVE".into())));
/// assert!(matches!(f.expr(), Expr::Compare(..)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter {
    expr: Expr,
}

impl Filter {
    /// Wraps an expression. The expression should be normalized (see [`ast`]).
    pub fn from_expr(expr: Expr) -> Self {
        Self { expr }
    }

    /// The syntax tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Unwraps the syntax tree.
    pub fn into_expr(self) -> Expr {
        self.expr
    }
}
