//! A fold (bottom-up visitor) over filter trees: turn an [`Expr`] into anything — SQL, a list
//! of attribute paths, a cost estimate, another filter language — without writing the recursion
//! yourself. The SQL translator ([`Filter::to_sql`](super::Filter::to_sql)) is one.
//!
//! [`Expr::fold`] calls one method of your [`Fold`] per node: leaves (`literal`, `present`,
//! `compare`) directly, `not`/`and`/`or` with their operands already folded, and `value_path`
//! with the *unfolded* inner filter, because what the inner filter means depends on the element
//! scope the folder sets up (call `inner.fold(..)` with a folder for that scope).
//!
//! ```
//! use mfa_devices::filter::ast::{AttrPath, CompValue, CompareOp, Expr};
//! use mfa_devices::filter::fold::Fold;
//! use mfa_devices::filter::Filter;
//!
//! /// Collects the attribute names a filter reads (`emails[type eq "work"]` reads `emails.type`).
//! struct Names(Vec<String>);
//!
//! impl Fold for Names {
//!     type Output = ();
//!     type Error = std::convert::Infallible;
//!     fn literal(&mut self, _: bool) -> Result<(), Self::Error> { Ok(()) }
//!     fn present(&mut self, p: &AttrPath) -> Result<(), Self::Error> {
//!         self.0.push(p.segments.join("."));
//!         Ok(())
//!     }
//!     fn compare(&mut self, p: &AttrPath, _: &CompareOp, _: &CompValue) -> Result<(), Self::Error> {
//!         self.present(p)
//!     }
//!     fn value_path(&mut self, p: &AttrPath, inner: &Expr) -> Result<(), Self::Error> {
//!         let mut sub = Names(Vec::new());
//!         inner.fold(&mut sub)?;
//!         let outer = p.segments.join(".");
//!         self.0.extend(sub.0.into_iter().map(|n| format!("{outer}.{n}")));
//!         Ok(())
//!     }
//!     fn not(&mut self, _: ()) -> Result<(), Self::Error> { Ok(()) }
//!     fn and(&mut self, _: Vec<()>) -> Result<(), Self::Error> { Ok(()) }
//!     fn or(&mut self, _: Vec<()>) -> Result<(), Self::Error> { Ok(()) }
//! }
//!
//! let f: Filter = r#"userName sw "a" and (emails[type eq "work"] or not (title pr))"#.parse()?;
//! let mut names = Names(Vec::new());
//! f.expr().fold(&mut names)?;
//! assert_eq!(names.0, ["userName", "emails.type", "title"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Recursion follows the tree, whose depth the parsers bound
//! ([`ParseOptions`](super::ParseOptions)).

use super::ast::{AttrPath, CompValue, CompareOp, Expr};

/// What to make of each kind of node; see the [module docs](self) for an example.
///
/// Every method may fail (`Error`): the first error stops the fold and is returned.
pub trait Fold {
    /// What a node folds into.
    type Output;
    /// Why a node cannot be folded.
    type Error;

    /// A constant (CREST `true` / `false`).
    fn literal(&mut self, value: bool) -> Result<Self::Output, Self::Error>;

    /// `path pr`.
    fn present(&mut self, path: &AttrPath) -> Result<Self::Output, Self::Error>;

    /// `path op value`.
    fn compare(
        &mut self,
        path: &AttrPath,
        op: &CompareOp,
        value: &CompValue,
    ) -> Result<Self::Output, Self::Error>;

    /// `path[inner]`: the inner filter is handed over unfolded, to be folded in the scope of one
    /// element of `path` (typically with `inner.fold(&mut element_folder)`).
    fn value_path(&mut self, path: &AttrPath, inner: &Expr) -> Result<Self::Output, Self::Error>;

    /// `not (inner)`, the operand already folded.
    fn not(&mut self, inner: Self::Output) -> Result<Self::Output, Self::Error>;

    /// `a and b and …`, the operands already folded, in order.
    fn and(&mut self, operands: Vec<Self::Output>) -> Result<Self::Output, Self::Error>;

    /// `a or b or …`, the operands already folded, in order.
    fn or(&mut self, operands: Vec<Self::Output>) -> Result<Self::Output, Self::Error>;
}

impl Expr {
    /// Folds this tree with `folder`: operands first (left to right), then their parent. See
    /// [`fold`](self) for an example.
    ///
    /// ```
    /// use mfa_devices::filter::{Filter, fold::Fold, ast::*};
    /// /// Counts comparisons.
    /// struct Count;
    /// impl Fold for Count {
    ///     type Output = usize;
    ///     type Error = ();
    ///     fn literal(&mut self, _: bool) -> Result<usize, ()> { Ok(0) }
    ///     fn present(&mut self, _: &AttrPath) -> Result<usize, ()> { Ok(1) }
    ///     fn compare(&mut self, _: &AttrPath, _: &CompareOp, _: &CompValue) -> Result<usize, ()> { Ok(1) }
    ///     fn value_path(&mut self, _: &AttrPath, inner: &Expr) -> Result<usize, ()> { inner.fold(self) }
    ///     fn not(&mut self, n: usize) -> Result<usize, ()> { Ok(n) }
    ///     fn and(&mut self, ns: Vec<usize>) -> Result<usize, ()> { Ok(ns.iter().sum()) }
    ///     fn or(&mut self, ns: Vec<usize>) -> Result<usize, ()> { Ok(ns.iter().sum()) }
    /// }
    /// let f: Filter = r#"a eq 1 or (b pr and not (c[d lt 2]))"#.parse().unwrap();
    /// assert_eq!(f.expr().fold(&mut Count), Ok(3));
    /// ```
    pub fn fold<F: Fold + ?Sized>(&self, folder: &mut F) -> Result<F::Output, F::Error> {
        match self {
            Expr::Literal(b) => folder.literal(*b),
            Expr::Present(p) => folder.present(p),
            Expr::Compare(p, op, v) => folder.compare(p, op, v),
            Expr::ValuePath(p, inner) => folder.value_path(p, inner),
            Expr::Not(x) => {
                let inner = x.fold(folder)?;
                folder.not(inner)
            }
            Expr::And(xs) => {
                let operands = xs
                    .iter()
                    .map(|x| x.fold(folder))
                    .collect::<Result<Vec<_>, _>>()?;
                folder.and(operands)
            }
            Expr::Or(xs) => {
                let operands = xs
                    .iter()
                    .map(|x| x.fold(folder))
                    .collect::<Result<Vec<_>, _>>()?;
                folder.or(operands)
            }
        }
    }
}
