//! [`CompiledFilter`]: a filter prepared for evaluation over many resources of one type.

use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, FixedOffset};

use super::ast::{AttrPath, CompValue, Expr};
use super::eval::{self, ID_PATH, Lit, Num, Op, StrLit};
use super::mobile::{self, PayloadVerifier};
use super::resource::{Attr, Element, Resource, get_ci};
use super::schema::{self, Schema, SchemaAttribute};
use serde_json::Value;

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
    /// No schema (every string ignores case), no payload verifier: a `mobilePayload eq` filter
    /// matches nothing (see [`verifier`](Self::verifier);
    /// [`Filter::compile_checked`](super::Filter::compile_checked) refuses it instead).
    ///
    /// ```
    /// use mfa_devices::filter::{CompileOptions, Filter};
    /// let f = Filter::parse("a pr").unwrap();
    /// assert!(f.compile_with::<serde_json::Value>(&CompileOptions::new()).matches(&serde_json::json!({"a": 1})));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// String attributes the schema marks [`case_exact`](SchemaAttribute::case_exact) compare
    /// exactly.
    ///
    /// ```
    /// use mfa_devices::filter::{CompileOptions, schema::DEVICES};
    /// let opts = CompileOptions::new().schema(&DEVICES);
    /// # let _ = opts;
    /// ```
    #[must_use]
    pub fn schema(mut self, schema: &'o Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Checks each `mobilePayload` JWT once, at compile time; one that fails matches nothing.
    /// Without a verifier no payload is trusted (fail closed): an unsigned or forged JWT naming
    /// a device must never select it.
    ///
    /// ```
    /// use mfa_devices::filter::{CompileOptions, Filter};
    /// let never = |_: &str| false;
    /// let f = Filter::parse(r#"mobilePayload eq "e30.eyJkdmMiOiJhIn0.c2ln""#).unwrap();
    /// let c = f.compile_with::<serde_json::Value>(&CompileOptions::new().verifier(&never));
    /// assert!(!c.matches(&serde_json::json!({"id": "a"})));
    /// ```
    #[must_use]
    pub fn verifier(mut self, verifier: &'o dyn PayloadVerifier) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Whether a payload verifier was given.
    pub(crate) fn has_verifier(&self) -> bool {
        self.verifier.is_some()
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
    ///
    /// ```
    /// use mfa_devices::filter::Filter;
    /// let c = Filter::parse("n gt 1").unwrap().compile::<serde_json::Value>();
    /// assert!(c.matches(&serde_json::json!({"n": 2})) && !c.matches(&serde_json::json!({"n": 1})));
    /// ```
    #[inline]
    pub fn matches(&self, resource: &R) -> bool {
        // The typed fast paths stay small enough to inline into the caller's loop (the
        // resource's `test` is usually a discriminant compare); every other shape is one call.
        match &self.root {
            // Two tests (the usual PingOne filter) unrolled: in a loop the compiler hoists the
            // second test's field load above the first test, touching a second cache line of
            // every resource even when the first test already failed.
            Node::AllTests(keys) => match &**keys {
                [a, b] => resource.test(a) && resource.test(b),
                keys => keys.iter().all(|k| resource.test(k)),
            },
            Node::AnyTests(keys) => match &**keys {
                [a, b] => resource.test(a) || resource.test(b),
                keys => keys.iter().any(|k| resource.test(k)),
            },
            Node::Test(key) => resource.test(key),
            root => run_composite(root, resource),
        }
    }

    /// The matching items, in order.
    ///
    /// ```
    /// use mfa_devices::filter::Filter;
    /// let c = Filter::parse("n ge 2").unwrap().compile::<serde_json::Value>();
    /// let items: Vec<_> = (0..4).map(|n| serde_json::json!({"n": n})).collect();
    /// assert_eq!(c.filter(&items).count(), 2);
    /// ```
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
    /// A key the resource resolved for `eq` with a literal ([`Resource::resolve_eq`]).
    Test(K),
    /// `eq` with an ASCII string that is not a date-time: the common case, with a fast path.
    StrEq {
        key: K,
        /// The literal, ASCII-lowercased (or as written when `exact`).
        lower: Box<str>,
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
    /// An `And` whose children are all [`Node::Test`]: the keys, tested in a tight loop.
    AllTests(Box<[K]>),
    /// An `Or` whose children are all [`Node::Test`].
    AnyTests(Box<[K]>),
}

/// The keys of `nodes` when every one is a [`Node::Test`] (and there are at least two).
fn test_keys<K>(nodes: &mut Vec<Node<K>>) -> Option<Box<[K]>> {
    if nodes.len() < 2 || !nodes.iter().all(|n| matches!(n, Node::Test(_))) {
        return None;
    }
    Some(
        nodes
            .drain(..)
            .filter_map(|n| match n {
                Node::Test(k) => Some(k),
                _ => None,
            })
            .collect(),
    )
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
    let schema_attr = |p: &AttrPath| attrs.and_then(|a| schema::lookup(a, p));
    match e {
        Expr::Literal(b) => Node::Const(*b),
        Expr::Present(p) => Node::Present(R::resolve(p)),
        Expr::Compare(p, op, v) => {
            if let Some((negate, jwt)) = eval::mobile_compare(p, op, v) {
                // Fails closed: no verifier, no trust.
                let trusted = opts.verifier.is_some_and(|v| v.verify(jwt));
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
                Some(Op::Eq) if matches!(v, CompValue::String(s) if s.is_ascii()) => {
                    let lit = OwnedLit::new(v);
                    let exact = schema_attr(p).is_some_and(|a| a.case_exact);
                    let (OwnedLit::Str { dt: None, .. }, CompValue::String(s)) = (&lit, v) else {
                        // A date-time literal: compared as an instant.
                        return Node::Compare {
                            key: R::resolve(p),
                            op: Op::Eq,
                            lit,
                            exact,
                        };
                    };
                    if let Some(key) = R::resolve_eq(p, s).filter(|_| !exact) {
                        return Node::Test(key);
                    }
                    Node::StrEq {
                        key: R::resolve(p),
                        lower: if exact {
                            s.as_str().into()
                        } else {
                            s.to_ascii_lowercase().into()
                        },
                        lit,
                        exact,
                    }
                }
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
        Expr::And(xs) => {
            let mut nodes: Vec<_> = xs.iter().map(|x| lower::<R>(x, opts, attrs)).collect();
            test_keys(&mut nodes).map_or_else(|| Node::And(nodes.into()), Node::AllTests)
        }
        Expr::Or(xs) => {
            let mut nodes: Vec<_> = xs.iter().map(|x| lower::<R>(x, opts, attrs)).collect();
            test_keys(&mut nodes).map_or_else(|| Node::Or(nodes.into()), Node::AnyTests)
        }
    }
}

/// Evaluates a node: composites loop here, leaves go to [`leaf`].
#[inline]
fn run<R: Resource + ?Sized>(n: &Node<R::Key>, r: &R) -> bool {
    match n {
        Node::AllTests(keys) => keys.iter().all(|k| r.test(k)),
        Node::AnyTests(keys) => keys.iter().any(|k| r.test(k)),
        Node::And(xs) => xs.iter().all(|x| run_child(x, r)),
        Node::Or(xs) => xs.iter().any(|x| run_child(x, r)),
        Node::Not(x) => !run_child(x, r),
        Node::ValuePath(key, inner) => eval::any(r.attr(key), |el| {
            run_child::<Element<'_>>(inner, &Element(el))
        }),
        other => leaf(other, r),
    }
}

/// A child: leaves directly, composites through a (non-inlined) recursive call.
#[inline(always)]
fn run_child<R: Resource + ?Sized>(n: &Node<R::Key>, r: &R) -> bool {
    // The typed fast path first, as a plain branch.
    if let Node::Test(key) = n {
        return r.test(key);
    }
    match n {
        Node::AllTests(keys) => keys.iter().all(|k| r.test(k)),
        Node::AnyTests(keys) => keys.iter().any(|k| r.test(k)),
        Node::And(_) | Node::Or(_) | Node::Not(_) | Node::ValuePath(..) => run_composite(n, r),
        other => leaf(other, r),
    }
}

#[inline(never)]
fn run_composite<R: Resource + ?Sized>(n: &Node<R::Key>, r: &R) -> bool {
    run(n, r)
}

#[inline(always)]
fn leaf<R: Resource + ?Sized>(n: &Node<R::Key>, r: &R) -> bool {
    match n {
        Node::StrEq {
            key,
            lower,
            lit,
            exact,
        } => {
            let a = r.attr(key);
            let (s, case_exact) = match a {
                Attr::Str(s) => (s, *exact),
                Attr::CaseExactStr(s) => (s, true),
                Attr::Absent => return false,
                Attr::Path(map, path) => match path
                    .single()
                    .map(|name| get_ci(map, name, path.first_hint()))
                {
                    Some(Some(Value::String(s))) => (s.as_str(), *exact),
                    Some(None | Some(Value::Null)) => return false,
                    _ => return eval::compare(a, Op::Eq, &lit.view(), *exact),
                },
                _ => return eval::compare(a, Op::Eq, &lit.view(), *exact),
            };
            if s.len() == lower.len() {
                let same = if case_exact {
                    s.as_bytes() == lit_bytes(lit)
                } else {
                    s.eq_ignore_ascii_case(lower)
                };
                if same {
                    return true;
                }
            }
            // The literal is ASCII: an ASCII value that differs cannot match, nor can a shorter
            // one (lowercasing into ASCII never makes a string longer).
            if case_exact || s.len() < lower.len() || s.is_ascii() {
                return false;
            }
            let a = if case_exact {
                Attr::CaseExactStr(s)
            } else {
                Attr::Str(s)
            };
            eval::compare(a, Op::Eq, &lit.view(), case_exact)
        }
        Node::Compare {
            key,
            op,
            lit,
            exact,
        } => eval::compare(r.attr(key), *op, &lit.view(), *exact),
        Node::Test(key) => r.test(key),
        Node::Const(b) => *b,
        Node::Present(key) => eval::present(r.attr(key)),
        Node::Mobile { id, dvc, negate } => *negate != eval::id_matches(r.attr(id), dvc.as_deref()),
        composite => run_composite(composite, r),
    }
}

fn lit_bytes(lit: &OwnedLit) -> &[u8] {
    match lit {
        OwnedLit::Str { s, .. } => s.as_bytes(),
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::Device;
    use crate::filter::Filter;

    fn device(t: &str, s: &str) -> Device {
        serde_json::from_value(serde_json::json!({
            "id": "e112c96d-d165-45c5-8061-87ff268fd520",
            "environment": {"id": "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"},
            "user": {"id": "b30ac647-e33e-464f-a6ea-0275082d4c26"},
            "type": t, "status": s,
            "createdAt": "2024-03-13T16:27:40.614Z", "updatedAt": "2024-03-13T16:27:40.614Z"
        }))
        .unwrap()
    }

    /// Conjunctions and disjunctions of typed tests (the flat `AllTests`/`AnyTests` forms, two
    /// keys unrolled or more in a loop) agree with the interpreter, `Other` values included.
    #[test]
    fn flat_typed_tests_agree_with_the_interpreter() {
        let filters = [
            r#"status eq "ACTIVATION_REQUIRED" and type eq "SMS""#,
            r#"status eq "ACTIVE" or type eq "sms""#,
            r#"type eq "EMAIL" and status eq "active" and type eq "email""#,
            r#"type eq "VOICE" or type eq "TOTP" or status eq "ACTIVATION_REQUIRED""#,
            r#"(type eq "SMS" and status eq "ACTIVE") or (type eq "EMAIL" and status eq "ACTIVE")"#,
            r#"not (type eq "SMS" or status eq "ACTIVE")"#,
        ];
        let devices = [
            device("SMS", "ACTIVE"),
            device("SMS", "ACTIVATION_REQUIRED"),
            device("sms", "active"),
            device("EMAIL", "ACTIVE"),
            device("VOICE", "Activation_Required"),
            device("TOTP", "DISABLED"),
            device("NEW_KIND", "ACTIVE"),
        ];
        let mut shapes = 0;
        for text in filters {
            let f = Filter::parse(text).unwrap();
            let c = f.compile::<Device>();
            shapes += usize::from(matches!(c.root, Node::AllTests(_) | Node::AnyTests(_)));
            let mut hits = 0;
            for d in &devices {
                assert_eq!(c.matches(d), f.matches(d), "{text} on {d:?}");
                hits += usize::from(c.matches(d));
            }
            assert!(hits > 0 && hits < devices.len(), "{text} discriminates");
        }
        assert_eq!(shapes, 4, "the flat forms are used");
    }
}
