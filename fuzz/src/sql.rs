//! `filter_sql`: SCIM filter → SQL never lets filter text into the statement.
#![allow(clippy::string_slice)]

use mfa_devices::filter::Filter;
use mfa_devices::filter::sql::{Dialect, SqlMapping, SqlParam};

/// Every bare word the translator may write (keywords, functions, types, its aliases' columns).
const WORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "EXISTS",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "AS",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "COALESCE",
    "LIKE",
    "ESCAPE",
    "IN",
    "COLLATE",
    "CAST",
    "float8",
    "numeric",
    "boolean",
    "timestamptz",
    "text",
    "int8",
    "jsonb_typeof",
    "jsonb_each",
    "jsonb_array_elements",
    "jsonb_build_array",
    "jsonb_array_length",
    "lower",
    "replace",
    "chr",
    "char",
    "json_type",
    "json_each",
    "json_array",
    "json",
    "json_array_length",
    "julianday",
    "instr",
    "substr",
    "length",
    "key",
    "value",
    "type",
    "fullkey",
    "v",
];

/// Every quoted constant the translator may write.
const CONSTANTS: &[&str] = &[
    "object", "array", "null", "string", "number", "boolean", "text", "integer", "real", "true",
    "false", "{}", "", "\\",
];

/// Checks that `sql` is made only of the translator's vocabulary, the mapping's quoted column
/// names, placeholders up to `params`, numbers and punctuation. Returns what was wrong.
pub fn check_sql_tokens(
    sql: &str,
    columns: &[&str],
    params: usize,
    dialect: Dialect,
) -> Result<(), String> {
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'(' | b')' | b',' | b'.' | b'=' | b'<' | b'>' | b'|' | b'-' | b'#' => i += 1,
            b':' if b.get(i + 1) == Some(&b':') => i += 2,
            b'\'' => {
                let end = sql[i + 1..].find('\'').ok_or("unterminated literal")? + i + 1;
                let lit = &sql[i + 1..end];
                if !CONSTANTS.contains(&lit) {
                    return Err(format!("literal '{lit}' is not a translator constant"));
                }
                i = end + 1;
            }
            b'"' => {
                let end = sql[i + 1..].find('"').ok_or("unterminated identifier")? + i + 1;
                let ident = &sql[i + 1..end];
                if ident != "C" && !columns.contains(&ident) {
                    return Err(format!("identifier \"{ident}\" is not from the mapping"));
                }
                i = end + 1;
            }
            b'$' | b'?' => {
                let want = if dialect == Dialect::Postgres {
                    b'$'
                } else {
                    b'?'
                };
                if c != want {
                    return Err(format!("placeholder {} in {dialect:?}", c as char));
                }
                let start = i + 1;
                let mut end = start;
                while end < b.len() && b[end].is_ascii_digit() {
                    end += 1;
                }
                let n: usize = sql[start..end]
                    .parse()
                    .map_err(|_| "placeholder without number")?;
                if n == 0 || n > params {
                    return Err(format!("placeholder {n} of {params}"));
                }
                i = end;
            }
            b'0'..=b'9' => {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let word = &sql[start..i];
                let alias = matches!(word.as_bytes()[0], b'k' | b'w' | b'f')
                    && word.len() > 1
                    && word[1..].bytes().all(|d| d.is_ascii_digit());
                if !alias && !WORDS.contains(&word) {
                    return Err(format!(
                        "word `{word}` is not in the translator's vocabulary"
                    ));
                }
            }
            other => return Err(format!("unexpected byte {other:#x}")),
        }
    }
    Ok(())
}

/// Arbitrary text: when it parses as a filter, every translation (two dialects, a JSON document
/// mapping and the two ready typed mappings) is built only from the translator's vocabulary, the
/// mapping's column names and placeholders — so no byte of any string value or attribute name
/// of the filter can be in `sql`; each placeholder has its parameter. A refusal is fine; a panic
/// is not.
pub fn filter_sql(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(filter) = Filter::parse(text) else {
        return;
    };
    let mappings = [
        SqlMapping::json_document("doc")
            .datetime("meta.created")
            .case_exact("id"),
        SqlMapping::devices(),
        SqlMapping::activities(),
    ];
    for mapping in &mappings {
        for dialect in [Dialect::Postgres, Dialect::Sqlite] {
            let Ok(w) = filter.to_sql(mapping, dialect) else {
                continue;
            };
            let columns = mapping.column_names();
            if let Err(e) = check_sql_tokens(&w.sql, &columns, w.params.len(), dialect) {
                panic!("{text:?} → {dialect:?} {}: {e}", w.sql);
            }
            let texts = w
                .params
                .iter()
                .filter(|p| matches!(p, SqlParam::Text(_)))
                .count();
            assert!(texts <= w.params.len());
        }
    }
}
