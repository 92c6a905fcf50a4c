//! The translator: a [`Fold`] from a filter tree to one SQL boolean expression.
//!
//! Every expression it returns is `TRUE` or `FALSE`, never SQL `NULL`: comparisons on JSON
//! values live inside `EXISTS (…)` and are guarded by `CASE WHEN <type check> THEN … ELSE FALSE
//! END`; comparisons on typed columns stand behind `col IS NOT NULL AND …` (never `NULL`: `FALSE
//! AND NULL` is `FALSE`, and a comparison of a non-null column with a bound value is not `NULL`),
//! which keeps them indexable. So `NOT`
//! over any part is the evaluator's negation (no row vanishes to three-valued logic).

use std::fmt::Write as _;

use super::mapping::SqlType;
use super::params::{Params, Placeholder, like_escape_into};
use super::{Dialect, SqlError, SqlMapping, SqlParam};
use crate::filter::ast::{AttrPath, CompValue, CompareOp, Expr};
use crate::filter::eval::{ID_PATH, Num, Op, mobile_compare, parse_dt};
use crate::filter::fold::Fold;
use crate::filter::mobile;

type R = Result<String, SqlError>;

/// The state of one translation.
pub(crate) struct Ctx<'m> {
    pub(crate) mapping: &'m SqlMapping,
    pub(crate) dialect: Dialect,
    pub(crate) params: Params,
    aliases: usize,
}

impl<'m> Ctx<'m> {
    pub(crate) fn new(mapping: &'m SqlMapping, dialect: Dialect) -> Self {
        Self {
            mapping,
            dialect,
            params: Params::new(dialect),
            aliases: 0,
        }
    }

    fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("{prefix}{}", self.aliases)
    }

    fn bind(&mut self, p: SqlParam) -> Placeholder {
        self.params.bind(p)
    }
}

/// A JSON value in SQL: a `jsonb` expression (PostgreSQL), or the `type` / SQL value / JSON text
/// triple of a `json_each` row (SQLite).
#[derive(Debug, Clone)]
enum Node {
    Pg(String),
    Lite { t: String, v: String, j: String },
}

/// One value a comparison looks at.
#[derive(Debug, Clone)]
enum Leaf {
    Column { expr: String, ty: SqlType },
    Json(Node),
}

/// Where an attribute's values come from.
#[derive(Debug, Clone)]
enum Source {
    /// Never has a value (a name other than `value` inside brackets over a column).
    Absent,
    Column {
        expr: String,
        ty: SqlType,
    },
    /// The values at `names` below `base` (names matched ignoring ASCII case, arrays fanned out
    /// as the evaluator does).
    Json {
        base: Node,
        names: Vec<String>,
    },
    /// `value` inside brackets over a JSON element: its `value` member if it is an object, else
    /// the element itself.
    ElemSelf(Node),
}

/// What the mapping declares about an attribute.
#[derive(Debug, Clone, Copy, Default)]
struct Decl {
    exact: bool,
    datetime: bool,
}

/// Where names resolve: the row, or one element of a multi-valued attribute (`a[…]`).
#[derive(Debug, Clone)]
enum Scope {
    Root,
    Element {
        leaf: Leaf,
        urn: Option<String>,
        prefix: Vec<String>,
    },
}

/// The folder: translates in one scope.
pub(crate) struct Tr<'c, 'm> {
    cx: &'c mut Ctx<'m>,
    scope: Scope,
}

impl<'c, 'm> Tr<'c, 'm> {
    pub(crate) fn root(cx: &'c mut Ctx<'m>) -> Self {
        Self {
            cx,
            scope: Scope::Root,
        }
    }
}

/// `"name"`, embedded quotes doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `(a <sep> b <sep> …)` in one allocation.
fn join_paren(operands: &[String], sep: &str) -> String {
    let len = operands.iter().map(String::len).sum::<usize>()
        + sep.len() * operands.len().saturating_sub(1)
        + 2;
    let mut out = String::with_capacity(len);
    out.push('(');
    for (i, o) in operands.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(o);
    }
    out.push(')');
    out
}

fn is_value_path(p: &AttrPath) -> bool {
    p.urn.is_none() && matches!(p.segments.as_slice(), [s] if s.eq_ignore_ascii_case("value"))
}

fn sql_op(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Ne => "<>",
        Op::Co | Op::Sw | Op::Ew => "LIKE",
    }
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Eq => "eq",
        Op::Ne => "ne",
        Op::Co => "co",
        Op::Sw => "sw",
        Op::Ew => "ew",
        Op::Gt => "gt",
        Op::Ge => "ge",
        Op::Lt => "lt",
        Op::Le => "le",
    }
}

/// An attribute path for messages, built only when one is written.
enum Shown<'p> {
    Path(&'p AttrPath),
    Text(String),
}

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shown::Path(p) => {
                if let Some(u) = &p.urn {
                    write!(f, "{u}:")?;
                }
                f.write_str(&p.segments.join("."))
            }
            Shown::Text(t) => f.write_str(t),
        }
    }
}

fn path_text(urn: Option<&str>, segments: &[String]) -> String {
    let names = segments.join(".");
    match urn {
        Some(u) => format!("{u}:{names}"),
        None => names,
    }
}

impl Tr<'_, '_> {
    fn dialect(&self) -> Dialect {
        self.cx.dialect
    }

    /// Resolves `path` in the current scope.
    fn source<'p>(&mut self, path: &'p AttrPath) -> Result<(Source, Decl, Shown<'p>), SqlError> {
        let mapping = self.cx.mapping;
        match &self.scope {
            Scope::Root => {
                let urn = path.urn.as_deref();
                let shown = Shown::Path(path);
                let decl = Decl {
                    exact: mapping.is_case_exact(urn, &path.segments),
                    datetime: mapping.is_datetime(urn, &path.segments),
                };
                if let Some(col) = mapping.column_of(path) {
                    let decl = Decl {
                        datetime: col.ty == SqlType::Timestamp,
                        ..decl
                    };
                    let src = Source::Column {
                        expr: quote_ident(&col.name),
                        ty: col.ty,
                    };
                    return Ok((src, decl, shown));
                }
                let Some(doc) = &mapping.document else {
                    return Err(SqlError::unknown_attribute(&shown.to_string(), mapping));
                };
                let base = self.doc_node(doc);
                let names = path.urn.iter().chain(&path.segments).cloned().collect();
                Ok((Source::Json { base, names }, decl, shown))
            }
            Scope::Element { leaf, urn, prefix } => {
                let urn = path.urn.as_deref().or(urn.as_deref());
                let full: Vec<String> = prefix.iter().chain(&path.segments).cloned().collect();
                let shown = Shown::Text(path_text(urn, &full));
                let decl = Decl {
                    exact: mapping.is_case_exact(urn, &full),
                    datetime: mapping.is_datetime(urn, &full),
                };
                let src = match leaf {
                    Leaf::Column { expr, ty } if is_value_path(path) => Source::Column {
                        expr: expr.clone(),
                        ty: *ty,
                    },
                    Leaf::Column { .. } => Source::Absent,
                    Leaf::Json(node) if is_value_path(path) => Source::ElemSelf(node.clone()),
                    Leaf::Json(node) => Source::Json {
                        base: node.clone(),
                        names: path.urn.iter().chain(&path.segments).cloned().collect(),
                    },
                };
                Ok((src, decl, shown))
            }
        }
    }

    fn doc_node(&self, doc: &str) -> Node {
        let q = quote_ident(doc);
        match self.dialect() {
            Dialect::Postgres => Node::Pg(q),
            Dialect::Sqlite => Node::Lite {
                t: format!("json_type({q})"),
                v: q.clone(),
                j: q,
            },
        }
    }

    /// True when some value of `src` satisfies `pred` (never SQL `NULL`).
    fn any(&mut self, src: Source, pred: &mut dyn FnMut(&mut Self, &Leaf) -> R) -> R {
        match src {
            Source::Absent => Ok("FALSE".into()),
            Source::Column { expr, ty } => {
                let leaf = Leaf::Column { expr, ty };
                let p = pred(self, &leaf)?;
                let expr = match &leaf {
                    Leaf::Column { expr, .. } => expr.as_str(),
                    Leaf::Json(_) => "",
                };
                let mut out = String::with_capacity(expr.len() + p.len() + 19);
                out.push('(');
                out.push_str(expr);
                out.push_str(" IS NOT NULL AND ");
                out.push_str(&p);
                out.push(')');
                Ok(out)
            }
            Source::Json { base, names } => self.json_any(&base, &names, pred),
            Source::ElemSelf(node) => {
                let names = ["value".to_owned()];
                let member = self.json_any(&node, &names, pred)?;
                let is_object = match &node {
                    Node::Pg(e) => format!("jsonb_typeof({e}) = 'object'"),
                    Node::Lite { t, .. } => format!("{t} = 'object'"),
                };
                let itself = self.fanout_any(node, Vec::new(), Vec::new(), pred)?;
                Ok(format!(
                    "CASE WHEN {is_object} THEN {member} ELSE {itself} END"
                ))
            }
        }
    }

    /// `EXISTS` over the values at `names` below `base`.
    fn json_any(
        &mut self,
        base: &Node,
        names: &[String],
        pred: &mut dyn FnMut(&mut Self, &Leaf) -> R,
    ) -> R {
        let mut from = Vec::new();
        let mut conds = Vec::new();
        let mut node = base.clone();
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                node = self.step_fanout(&node, &mut from);
            }
            node = self.step_lookup(&node, name, &mut from, &mut conds);
        }
        self.fanout_any(node, from, conds, pred)
    }

    /// Finishes a chain: the node's values (an array's elements, or itself), nulls skipped.
    fn fanout_any(
        &mut self,
        node: Node,
        mut from: Vec<String>,
        mut conds: Vec<String>,
        pred: &mut dyn FnMut(&mut Self, &Leaf) -> R,
    ) -> R {
        let f = self.cx.alias("f");
        let leaf = match node {
            Node::Pg(n) => {
                from.push(format!(
                    "jsonb_array_elements(CASE WHEN jsonb_typeof({n}) = 'array' THEN {n} ELSE jsonb_build_array({n}) END) AS {f}(v)"
                ));
                conds.push(format!("jsonb_typeof({f}.v) <> 'null'"));
                Node::Pg(format!("{f}.v"))
            }
            Node::Lite { t, v, j } => {
                let src =
                    format!("CASE WHEN {t} = 'array' THEN {v} ELSE json_array(json({j})) END");
                from.push(format!("json_each({src}) AS {f}"));
                conds.push(format!("{f}.type <> 'null'"));
                Node::Lite {
                    t: format!("{f}.type"),
                    v: format!("{f}.value"),
                    j: format!("(({src}) -> {f}.fullkey)"),
                }
            }
        };
        conds.push(pred(self, &Leaf::Json(leaf))?);
        Ok(format!(
            "EXISTS (SELECT 1 FROM {} WHERE {})",
            from.join(", "),
            conds.join(" AND ")
        ))
    }

    /// The member of an object named `name` ignoring ASCII case (nothing for non-objects).
    fn step_lookup(
        &mut self,
        node: &Node,
        name: &str,
        from: &mut Vec<String>,
        conds: &mut Vec<String>,
    ) -> Node {
        let k = self.cx.alias("k");
        let p = self.cx.bind(SqlParam::Text(name.to_ascii_lowercase()));
        match node {
            Node::Pg(n) => {
                from.push(format!(
                    "jsonb_each(CASE WHEN jsonb_typeof({n}) = 'object' THEN {n} END) AS {k}(key, value)"
                ));
                conds.push(format!("lower({k}.key COLLATE \"C\") = {p}"));
                Node::Pg(format!("{k}.value"))
            }
            Node::Lite { t, v, .. } => {
                from.push(format!(
                    "json_each(CASE WHEN {t} = 'object' THEN {v} END) AS {k}"
                ));
                conds.push(format!("lower({k}.key) = {p}"));
                Node::Lite {
                    t: format!("{k}.type"),
                    v: format!("{k}.value"),
                    j: format!("({v} -> {k}.fullkey)"),
                }
            }
        }
    }

    /// Between two names: an array's elements, or the value itself (lookups then skip what is
    /// not an object).
    fn step_fanout(&mut self, node: &Node, from: &mut Vec<String>) -> Node {
        let w = self.cx.alias("w");
        match node {
            Node::Pg(n) => {
                from.push(format!(
                    "jsonb_array_elements(CASE WHEN jsonb_typeof({n}) = 'array' THEN {n} ELSE jsonb_build_array({n}) END) AS {w}(v)"
                ));
                Node::Pg(format!("{w}.v"))
            }
            Node::Lite { t, v, .. } => {
                let src = format!(
                    "CASE WHEN {t} = 'array' THEN {v} WHEN {t} = 'object' THEN json_array(json({v})) END"
                );
                from.push(format!("json_each({src}) AS {w}"));
                Node::Lite {
                    t: format!("{w}.type"),
                    v: format!("{w}.value"),
                    j: format!("(({src}) -> {w}.fullkey)"),
                }
            }
        }
    }

    /// `pr` on one value: not `""`, not `[]`.
    fn present_leaf(&mut self, leaf: &Leaf) -> String {
        match leaf {
            Leaf::Column {
                expr,
                ty: SqlType::Text,
            } => format!("{expr} <> ''"),
            Leaf::Column { .. } => "TRUE".into(),
            Leaf::Json(Node::Pg(e)) => format!(
                "CASE jsonb_typeof({e}) WHEN 'string' THEN ({e} #>> '{{}}') <> '' WHEN 'array' THEN jsonb_array_length({e}) > 0 ELSE TRUE END"
            ),
            Leaf::Json(Node::Lite { t, v, .. }) => format!(
                "CASE {t} WHEN 'text' THEN {v} <> '' WHEN 'array' THEN json_array_length({v}) > 0 ELSE TRUE END"
            ),
        }
    }

    /// One value against a non-null literal (`op` is never `ne`).
    fn compare_leaf(
        &mut self,
        leaf: &Leaf,
        op: Op,
        value: &CompValue,
        decl: Decl,
        shown: &Shown<'_>,
    ) -> R {
        match value {
            CompValue::Null => Ok("FALSE".into()),
            CompValue::Bool(b) => self.bool_leaf(leaf, op, *b),
            CompValue::Number(n) => self.number_leaf(leaf, op, Num::of(n), shown),
            CompValue::String(s) => self.string_leaf(leaf, op, s, decl, shown),
        }
    }

    fn bool_leaf(&mut self, leaf: &Leaf, op: Op, b: bool) -> R {
        if op != Op::Eq {
            return Ok("FALSE".into());
        }
        Ok(match leaf {
            Leaf::Column {
                expr,
                ty: SqlType::Boolean,
            } => {
                let p = self.cx.bind(SqlParam::Bool(b));
                format!("{expr} = {p}")
            }
            Leaf::Column { .. } => "FALSE".into(),
            Leaf::Json(Node::Pg(e)) => {
                let p = self.cx.bind(SqlParam::Bool(b));
                format!(
                    "CASE WHEN jsonb_typeof({e}) = 'boolean' THEN ({e})::boolean = {p} ELSE FALSE END"
                )
            }
            Leaf::Json(Node::Lite { t, .. }) => {
                let p = self.cx.bind(SqlParam::Bool(b));
                format!(
                    "CASE WHEN {t} IN ('true', 'false') THEN ({t} = 'true') = {p} ELSE FALSE END"
                )
            }
        })
    }

    fn number_leaf(&mut self, leaf: &Leaf, op: Op, n: Num, shown: &Shown<'_>) -> R {
        if matches!(op, Op::Co | Op::Sw | Op::Ew) {
            return Ok("FALSE".into());
        }
        let param = match n {
            Num::Int(i) => match i64::try_from(i) {
                Ok(i) => SqlParam::Int(i),
                Err(_) => {
                    return Err(SqlError::unsupported(format!(
                        "{shown} is compared with the integer {i}, beyond the 64-bit range SQL parameters hold"
                    )));
                }
            },
            Num::Float(f) => SqlParam::Float(f),
        };
        let float = matches!(param, SqlParam::Float(_));
        let o = sql_op(op);
        Ok(match leaf {
            Leaf::Column {
                expr,
                ty: SqlType::Integer,
            } => {
                let p = self.cx.bind(param);
                match (self.dialect(), float) {
                    (Dialect::Postgres, true) => {
                        format!("CAST({expr} AS float8) {o} {p}")
                    }
                    _ => format!("{expr} {o} {p}"),
                }
            }
            Leaf::Column { .. } => "FALSE".into(),
            Leaf::Json(Node::Pg(e)) => {
                let p = self.cx.bind(param);
                let cast = if float { "float8" } else { "numeric" };
                format!(
                    "CASE WHEN jsonb_typeof({e}) = 'number' THEN ({e})::{cast} {o} {p} ELSE FALSE END"
                )
            }
            Leaf::Json(Node::Lite { t, v, .. }) => {
                let p = self.cx.bind(param);
                format!("CASE WHEN {t} IN ('integer', 'real') THEN {v} {o} {p} ELSE FALSE END")
            }
        })
    }

    fn string_leaf(&mut self, leaf: &Leaf, op: Op, s: &str, decl: Decl, shown: &Shown<'_>) -> R {
        let instant = matches!(op, Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le);
        if let (Some(dt), true) = (parse_dt(s), instant) {
            let t = dt.to_utc();
            let nanos = dt.timestamp_subsec_nanos();
            let unit = match self.dialect() {
                Dialect::Postgres => 1_000,
                Dialect::Sqlite => 1_000_000,
            };
            if nanos >= 1_000_000_000 || nanos % unit != 0 {
                return Err(SqlError::unsupported(format!(
                    "{shown} is compared with {s:?}, finer than the {} precision of {} timestamps",
                    if unit == 1_000 {
                        "microsecond"
                    } else {
                        "millisecond"
                    },
                    self.dialect().name()
                )));
            }
            let o = sql_op(op);
            return match leaf {
                Leaf::Column {
                    expr,
                    ty: SqlType::Timestamp,
                } => {
                    let p = self.cx.bind(SqlParam::Timestamp(t));
                    Ok(match self.dialect() {
                        Dialect::Postgres => format!("{expr} {o} {p}"),
                        Dialect::Sqlite => {
                            format!("COALESCE(julianday({expr}) {o} julianday({p}), FALSE)")
                        }
                    })
                }
                Leaf::Column {
                    ty: SqlType::Text, ..
                } => Err(SqlError::unsupported(format!(
                    "{shown} is a text column compared with the date-time {s:?}: map it as SqlType::Timestamp to compare instants"
                ))),
                Leaf::Column { .. } => Ok("FALSE".into()),
                Leaf::Json(node) if decl.datetime => {
                    let p = self.cx.bind(SqlParam::Timestamp(t));
                    Ok(match node {
                        Node::Pg(e) => format!(
                            "CASE WHEN jsonb_typeof({e}) = 'string' THEN ({e} #>> '{{}}')::timestamptz {o} {p} ELSE FALSE END"
                        ),
                        Node::Lite { t, v, .. } => format!(
                            "CASE WHEN {t} = 'text' THEN COALESCE(julianday({v}) {o} julianday({p}), FALSE) ELSE FALSE END"
                        ),
                    })
                }
                Leaf::Json(_) => Err(SqlError::unsupported(format!(
                    "{shown} is compared with the date-time {s:?}: declare it with SqlMapping::datetime(\"{shown}\") so SQL compares instants"
                ))),
            };
        }
        match leaf {
            Leaf::Column {
                expr,
                ty: SqlType::Text,
            } => self.text(expr, op, s, decl.exact, shown),
            Leaf::Column {
                ty: SqlType::Timestamp,
                ..
            } => Err(SqlError::unsupported(format!(
                "{shown} is a timestamp: `{}` with {s:?} compares its text, which SQL does not render as the evaluator does; compare it with an RFC 3339 date-time (eq, ne, gt, ge, lt, le)",
                op_name(op)
            ))),
            Leaf::Column { .. } => Ok("FALSE".into()),
            Leaf::Json(Node::Pg(e)) => {
                let text = format!("({e} #>> '{{}}')");
                let t = self.text(&text, op, s, decl.exact, shown)?;
                Ok(format!(
                    "CASE WHEN jsonb_typeof({e}) = 'string' THEN {t} ELSE FALSE END"
                ))
            }
            Leaf::Json(Node::Lite { t, v, .. }) => {
                let cmp = self.text(v, op, s, decl.exact, shown)?;
                Ok(format!("CASE WHEN {t} = 'text' THEN {cmp} ELSE FALSE END"))
            }
        }
    }

    /// Text comparison of the SQL string `s` with the literal `lit`.
    fn text(&mut self, s: &str, op: Op, lit: &str, exact: bool, shown: &Shown<'_>) -> R {
        if matches!(op, Op::Co | Op::Sw | Op::Ew) && lit.is_empty() {
            return Ok("TRUE".into());
        }
        if !exact && !lit.is_ascii() {
            return Err(SqlError::unsupported(format!(
                "{shown} `{}` {lit:?}: comparing non-ASCII text ignoring case is not expressed in SQL (the evaluator lowercases by Unicode, SQL lower() by collation); declare the attribute case_exact or use ASCII",
                op_name(op)
            )));
        }
        let pg = self.dialect() == Dialect::Postgres;
        let mut out = String::with_capacity(s.len() * 2 + 120);
        let lit = if exact {
            out.push_str(s);
            std::borrow::Cow::Borrowed(lit)
        } else {
            if pg {
                out.push_str("lower(replace(replace(");
                out.push_str(s);
                out.push_str(
                    ", chr(8490), chr(107)), chr(304), chr(105) || chr(775)) COLLATE \"C\")",
                );
            } else {
                out.push_str("lower(replace(replace(");
                out.push_str(s);
                out.push_str(", char(8490), char(107)), char(304), char(105, 775)))");
            }
            std::borrow::Cow::Owned(lit.to_ascii_lowercase())
        };
        let o = sql_op(op);
        let w = match op {
            Op::Eq | Op::Ne => {
                let p = self.cx.bind(SqlParam::Text(lit.into_owned()));
                write!(out, " = {p}")
            }
            Op::Gt | Op::Ge | Op::Lt | Op::Le => {
                let p = self.cx.bind(SqlParam::Text(lit.into_owned()));
                if pg {
                    write!(out, " COLLATE \"C\" {o} {p}")
                } else {
                    write!(out, " {o} {p}")
                }
            }
            Op::Co | Op::Sw | Op::Ew if pg || !exact => {
                let mut pattern = String::with_capacity(lit.len() + 4);
                if op != Op::Sw {
                    pattern.push('%');
                }
                like_escape_into(&lit, &mut pattern);
                if op != Op::Ew {
                    pattern.push('%');
                }
                let p = self.cx.bind(SqlParam::Text(pattern));
                write!(out, " LIKE {p} ESCAPE '\\'")
            }
            // SQLite's LIKE ignores ASCII case: exact tests compare substrings instead.
            Op::Co => {
                let p = self.cx.bind(SqlParam::Text(lit.into_owned()));
                let lhs = out.split_off(0);
                write!(out, "instr({lhs}, {p}) > 0")
            }
            Op::Sw => {
                let p = self.cx.bind(SqlParam::Text(lit.into_owned()));
                let lhs = out.split_off(0);
                write!(out, "substr({lhs}, 1, length({p})) = {p}")
            }
            Op::Ew => {
                let p = self.cx.bind(SqlParam::Text(lit.into_owned()));
                let lhs = out.split_off(0);
                write!(out, "substr({lhs}, -length({p})) = {p}")
            }
        };
        // Writing into a String cannot fail.
        let _: std::fmt::Result = w;
        Ok(out)
    }
}

impl Fold for Tr<'_, '_> {
    type Output = String;
    type Error = SqlError;

    fn literal(&mut self, value: bool) -> R {
        Ok(if value { "TRUE" } else { "FALSE" }.into())
    }

    fn present(&mut self, path: &AttrPath) -> R {
        let (src, _, _) = self.source(path)?;
        self.any(src, &mut |tr, leaf| Ok(tr.present_leaf(leaf)))
    }

    fn compare(&mut self, path: &AttrPath, op: &CompareOp, value: &CompValue) -> R {
        if let Some((negate, jwt)) = mobile_compare(path, op, value) {
            let inner = match mobile::device_id(jwt) {
                Some(dvc) => self.compare(&ID_PATH, &CompareOp::Eq, &CompValue::String(dvc))?,
                None => "FALSE".into(),
            };
            return Ok(if negate {
                format!("NOT ({inner})")
            } else {
                inner
            });
        }
        let (src, decl, shown) = self.source(path)?;
        let Some(op) = Op::of(op) else {
            return Ok("FALSE".into());
        };
        match (op, value) {
            (Op::Eq, CompValue::Null) => {
                let any = self.any(src, &mut |_, _| Ok("TRUE".into()))?;
                Ok(format!("NOT ({any})"))
            }
            (Op::Ne, CompValue::Null) => self.any(src, &mut |_, _| Ok("TRUE".into())),
            (_, CompValue::Null) => Ok("FALSE".into()),
            (Op::Ne, v) => {
                let any = self.any(src, &mut |tr, leaf| {
                    tr.compare_leaf(leaf, Op::Eq, v, decl, &shown)
                })?;
                Ok(format!("NOT ({any})"))
            }
            (op, v) => self.any(src, &mut |tr, leaf| {
                tr.compare_leaf(leaf, op, v, decl, &shown)
            }),
        }
    }

    fn value_path(&mut self, path: &AttrPath, inner: &Expr) -> R {
        let (src, _, _) = self.source(path)?;
        let (urn, prefix) = match &self.scope {
            Scope::Root => (path.urn.clone(), path.segments.clone()),
            Scope::Element { urn, prefix, .. } => (
                path.urn.clone().or_else(|| urn.clone()),
                prefix.iter().chain(&path.segments).cloned().collect(),
            ),
        };
        self.any(src, &mut |tr, leaf| {
            let mut sub = Tr {
                cx: &mut *tr.cx,
                scope: Scope::Element {
                    leaf: leaf.clone(),
                    urn: urn.clone(),
                    prefix: prefix.clone(),
                },
            };
            inner.fold(&mut sub)
        })
    }

    fn not(&mut self, inner: String) -> R {
        let mut out = String::with_capacity(inner.len() + 6);
        out.push_str("NOT (");
        out.push_str(&inner);
        out.push(')');
        Ok(out)
    }

    fn and(&mut self, operands: Vec<String>) -> R {
        Ok(join_paren(&operands, " AND "))
    }

    fn or(&mut self, operands: Vec<String>) -> R {
        Ok(join_paren(&operands, " OR "))
    }
}
