//! [`CompiledFilter`]: a filter prepared for evaluation over many resources of one type.

use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, FixedOffset};

use super::ast::{AttrPath, CompValue, Expr};
use super::eval::{self, ID_PATH, Lit, Num, Op, StrLit};
use super::mobile::{self, PayloadVerifier};
use super::resource::{Element, Resource};
use super::schema::{Schema, SchemaAttribute};

/// Options for [`Filter::compile_with`](super::Filter::compile_with).
///
/// ```
/// use mfa_devices::filter::{CompileOptions, schema::DEVICES};
/// let verify = |jwt: &str| jwt.ends_with(".good-signature");
/// let opts = CompileOptions::new().schema(&DEVICES).verifier(&verify);
/// # let _ = opts;
/// ```
#[derive(Clone, Copy, Default)]
pub struct CompileOptions<'o> {
    schema: Option<&'o Schema>,
    verifier: Option<&'o dyn PayloadVerifier>,
}

impl fmt::Debug for CompileOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompileOptions")
            .field("schema", &self.schema.map(|s| s.name))
            .field("verifier", &self.verifier.is_some())
            .finish()
    }
}

impl<'o> CompileOptions<'o> {
    /// No schema (every string ignores case), mobile payloads decoded without verification.
    pub fn new() -> Self {
        Self::default()
    }

    /// String attributes the schema marks [`case_exact`](SchemaAttribute::case_exact) compare
    /// exactly.
    #[must_use]
    pub fn schema(mut self, schema: &'o Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Checks each `mobilePayload` JWT once, at compile time; one that fails matches nothing.
    #[must_use]
    pub fn verifier(mut self, verifier: &'o dyn PayloadVerifier) -> Self {
        self.verifier = Some(verifier);
        self
    }
}

/// A filter compiled for resources of type `R`: attribute paths resolved to `R::Key` once,
/// literals lowered once (date-times parsed, numbers converted, JWTs decoded and verified).
/// Evaluation allocates nothing.
///
/// ```
/// use mfa_devices::filter::Filter;
/// let f = Filter::parse(r#"(status eq "ACTIVATION_REQUIRED") and (type eq "SMS")"#).unwrap();
/// let c = f.compile::<serde_json::Value>();
/// let devices = [
///     serde_json::json!({"type": "SMS", "status": "ACTIVATION_REQUIRED"}),
///     serde_json::json!({"type": "SMS", "status": "ACTIVE"}),
/// ];
/// assert_eq!(c.filter(&devices).count(), 1);
/// ```
pub struct CompiledFilter<R: Resource + ?Sized> {
    root: Node<R::Key>,
    _resource: PhantomData<fn(&R)>,
}

impl<R: Resource + ?Sized> fmt::Debug for CompiledFilter<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledFilter").finish_non_exhaustive()
    }
}

impl<R: Resource + ?Sized> Clone for CompiledFilter<R>
where
    R::Key: Clone,
{
    fn clone(&self) -> Self {
        Self {
            root: self.root.clone(),
            _resource: PhantomData,
        }
    }
}

impl<R: Resource + ?Sized> CompiledFilter<R> {
    /// Whether `resource` matches. Same rules as [`Filter::matches`](super::Filter::matches).
    #[inline]
    pub fn matches(&self, resource: &R) -> bool {
        run(&self.root, resource)
    }

    /// The matching items, in order.
    pub fn filter<'a, I>(&'a self, items: I) -> impl Iterator<Item = I::Item> + 'a
    where
        I: IntoIterator + 'a,
        I::Item: std::borrow::Borrow<R>,
    {
        items
            .into_iter()
            .filter(move |r| self.matches(std::borrow::Borrow::borrow(r)))
    }
}

/// The compiled tree: like [`Expr`] with keys instead of paths and lowered literals.
#[derive(Clone)]
enum Node<K> {
    Const(bool),
    Compare {
        key: K,
        op: Op,
        lit: OwnedLit,
        exact: bool,
    },
    Present(K),
    Mobile {
        id: K,
        dvc: Option<Box<str>>,
        negate: bool,
    },
    ValuePath(K, Box<Node<AttrPath>>),
    Not(Box<Node<K>>),
    And(Box<[Node<K>]>),
    Or(Box<[Node<K>]>),
}

#[derive(Clone)]
enum OwnedLit {
    Null,
    Bool(bool),
    Num(Num),
    Str {
        s: Box<str>,
        ascii: bool,
        dt: Option<DateTime<FixedOffset>>,
    },
}

impl OwnedLit {
    fn new(v: &CompValue) -> Self {
        match v {
            CompValue::Null => OwnedLit::Null,
            CompValue::Bool(b) => OwnedLit::Bool(*b),
            CompValue::Number(n) => OwnedLit::Num(Num::of(n)),
            CompValue::String(s) => {
                let l = StrLit::new(s);
                OwnedLit::Str {
                    s: s.as_str().into(),
                    ascii: l.ascii,
                    dt: l.dt,
                }
            }
        }
    }

    #[inline]
    fn view(&self) -> Lit<'_> {
        match self {
            OwnedLit::Null => Lit::Null,
            OwnedLit::Bool(b) => Lit::Bool(*b),
            OwnedLit::Num(n) => Lit::Num(*n),
            OwnedLit::Str { s, ascii, dt } => Lit::Str(StrLit {
                s,
                ascii: *ascii,
                dt: *dt,
            }),
        }
    }
}

/// Compiles `e` for `R`; `attrs` are the schema attributes in scope (for `caseExact`).
pub(crate) fn compile<R: Resource + ?Sized>(
    e: &Expr,
    opts: &CompileOptions<'_>,
) -> CompiledFilter<R> {
    CompiledFilter {
        root: lower::<R>(e, opts, opts.schema.map(|s| s.attributes)),
        _resource: PhantomData,
    }
}

fn lower<R: Resource + ?Sized>(
    e: &Expr,
    opts: &CompileOptions<'_>,
    attrs: Option<&'static [SchemaAttribute]>,
) -> Node<R::Key> {
    let schema_attr = |p: &AttrPath| {
        attrs.and_then(|a| {
            Schema {
                name: "",
                attributes: a,
                logical_operators: &[],
            }
            .attribute(p)
        })
    };
    match e {
        Expr::Literal(b) => Node::Const(*b),
        Expr::Present(p) => Node::Present(R::resolve(p)),
        Expr::Compare(p, op, v) => {
            if let Some((negate, jwt)) = eval::mobile_compare(p, op, v) {
                let trusted = opts.verifier.is_none_or(|v| v.verify(jwt));
                let dvc = if trusted {
                    mobile::device_id(jwt)
                } else {
                    None
                };
                return Node::Mobile {
                    id: R::resolve(&ID_PATH),
                    dvc: dvc.map(String::into_boxed_str),
                    negate,
                };
            }
            match Op::of(op) {
                Some(op) => Node::Compare {
                    key: R::resolve(p),
                    op,
                    lit: OwnedLit::new(v),
                    exact: schema_attr(p).is_some_and(|a| a.case_exact),
                },
                None => Node::Const(false),
            }
        }
        Expr::ValuePath(p, inner) => {
            let sub = schema_attr(p).map(|a| a.sub_attributes);
            Node::ValuePath(
                R::resolve(p),
                Box::new(lower::<Element<'_>>(inner, opts, sub)),
            )
        }
        Expr::Not(x) => Node::Not(Box::new(lower::<R>(x, opts, attrs))),
        Expr::And(xs) => Node::And(xs.iter().map(|x| lower::<R>(x, opts, attrs)).collect()),
        Expr::Or(xs) => Node::Or(xs.iter().map(|x| lower::<R>(x, opts, attrs)).collect()),
    }
}

#[inline]
fn run<R: Resource + ?Sized>(n: &Node<R::Key>, r: &R) -> bool {
    match n {
        Node::Compare {
            key,
            op,
            lit,
            exact,
        } => eval::compare(r.attr(key), *op, &lit.view(), *exact),
        Node::And(xs) => xs.iter().all(|x| run(x, r)),
        Node::Or(xs) => xs.iter().any(|x| run(x, r)),
        Node::Const(b) => *b,
        Node::Present(key) => eval::present(r.attr(key)),
        Node::Mobile { id, dvc, negate } => *negate != eval::id_matches(r.attr(id), dvc.as_deref()),
        Node::ValuePath(key, inner) => {
            eval::any(r.attr(key), |el| run::<Element<'_>>(inner, &Element(el)))
        }
        Node::Not(x) => !run(x, r),
    }
}
