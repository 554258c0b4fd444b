//! `data` artifacts: JSON documents and CSV tables that roles hand over in memory (inventories,
//! volume lists, results), rendered to bytes, so no role needs temporary files.
//!
//! The name's extension picks the format. `*.json`: the value, pretty-printed with two-space
//! indentation and a final newline, keys in the order given. `*.csv` (RFC 4180, `\n` line
//! ends): either a list of objects (columns are the keys in first-seen order across all rows,
//! a missing key is an empty cell) or a list of lists (rows as given; put the header first).
//! Cells: strings as they are, numbers and booleans as JSON writes them, null empty, objects and
//! lists as compact JSON. Secrets are masked first ([`super::redact`]).

use super::error::{Error, Result};
use super::redact::{MASK, is_secret_key, redact_json};
use crate::clean::json_type as type_name;
use serde_json::{Map, Value};

/// A rendered data artifact and where secrets were masked in it.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedData {
    /// The file content.
    pub bytes: Vec<u8>,
    /// Where values were masked: JSON pointers, or `row N, column C` for CSV.
    pub redacted: Vec<String>,
}

/// Renders `value` as the artifact called `name`.
pub fn render(name: &str, value: &Value) -> Result<RenderedData> {
    let invalid = |reason: String| Error::InvalidData {
        name: name.to_owned(),
        reason,
    };
    let mut value = value.clone();
    if name.ends_with(".json") {
        let redacted = redact_json(&mut value);
        let mut bytes = serde_json::to_vec_pretty(&value).expect("JSON values serialize");
        bytes.push(b'\n');
        Ok(RenderedData { bytes, redacted })
    } else if name.ends_with(".csv") {
        let Value::Array(rows) = value else {
            return Err(invalid(format!(
                "a .csv entry must be a list of rows (objects or lists), got {}",
                type_name(&value)
            )));
        };
        if rows.is_empty() {
            Ok(RenderedData {
                bytes: Vec::new(),
                redacted: Vec::new(),
            })
        } else if rows.iter().all(Value::is_object) {
            Ok(csv_from_objects(rows))
        } else if rows.iter().all(Value::is_array) {
            Ok(csv_from_lists(rows))
        } else {
            let reason = match rows
                .iter()
                .enumerate()
                .find(|(_, r)| !r.is_object() && !r.is_array())
            {
                Some((index, row)) => {
                    format!(
                        "row {index} is {}, expected an object or a list",
                        type_name(row)
                    )
                }
                None => "rows mix objects and lists: use one kind".to_owned(),
            };
            Err(invalid(reason))
        }
    } else {
        Err(invalid(
            "the name must end in .json (any JSON value) or .csv (a list of rows)".to_owned(),
        ))
    }
}

fn csv_from_objects(rows: Vec<Value>) -> RenderedData {
    let mut columns: Vec<String> = Vec::new();
    for row in &rows {
        for key in row.as_object().into_iter().flat_map(Map::keys) {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
    }
    let mut redacted = Vec::new();
    let mut out = String::new();
    push_row(&mut out, columns.iter().map(String::as_str));
    for (index, row) in rows.into_iter().enumerate() {
        let Value::Object(mut row) = row else {
            continue;
        };
        let cells: Vec<String> = columns
            .iter()
            .map(|column| {
                let Some(value) = row.get_mut(column) else {
                    return String::new();
                };
                if is_secret_key(column) && !matches!(value, Value::Null | Value::Bool(_)) {
                    redacted.push(format!("row {}, column {column}", index + 1));
                    return MASK.to_owned();
                }
                for pointer in redact_json(value) {
                    redacted.push(format!("row {}, column {column}{pointer}", index + 1));
                }
                cell(value)
            })
            .collect();
        push_row(&mut out, cells.iter().map(String::as_str));
    }
    RenderedData {
        bytes: out.into_bytes(),
        redacted,
    }
}

fn csv_from_lists(rows: Vec<Value>) -> RenderedData {
    let header: Vec<String> = rows
        .first()
        .and_then(Value::as_array)
        .map(|h| h.iter().map(cell).collect())
        .unwrap_or_default();
    let mut redacted = Vec::new();
    let mut out = String::new();
    for (index, row) in rows.into_iter().enumerate() {
        let Value::Array(mut row) = row else {
            continue;
        };
        let cells: Vec<String> = row
            .iter_mut()
            .enumerate()
            .map(|(col, value)| {
                let secret_column = index > 0 && header.get(col).is_some_and(|h| is_secret_key(h));
                if secret_column && !matches!(value, Value::Null | Value::Bool(_)) {
                    redacted.push(format!("row {index}, column {}", header[col]));
                    return MASK.to_owned();
                }
                for pointer in redact_json(value) {
                    redacted.push(format!("row {index}, column {}{pointer}", col + 1));
                }
                cell(value)
            })
            .collect();
        push_row(&mut out, cells.iter().map(String::as_str));
    }
    RenderedData {
        bytes: out.into_bytes(),
        redacted,
    }
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn push_row<'a>(out: &mut String, cells: impl Iterator<Item = &'a str>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        if cell.contains([',', '"', '\n', '\r']) || cell.starts_with(' ') || cell.ends_with(' ') {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(cell);
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(name: &str, value: Value) -> (String, Vec<String>) {
        let r = render(name, &value).unwrap();
        (String::from_utf8(r.bytes).unwrap(), r.redacted)
    }

    #[test]
    fn json_is_pretty_and_redacted() {
        let (out, redacted) = text(
            "s3.json",
            json!({"bucket": "b", "secret_key": "k", "a": [1]}),
        );
        assert_eq!(
            out,
            "{\n  \"bucket\": \"b\",\n  \"secret_key\": \"********\",\n  \"a\": [\n    1\n  ]\n}\n"
        );
        assert_eq!(redacted, ["/secret_key"]);
    }

    #[test]
    fn csv_from_objects_unions_columns_and_quotes() {
        let (out, redacted) = text(
            "volumes.csv",
            json!([
                {"pvc": "app/disk", "bytes": 1024, "ok": true},
                {"pvc": "app/\"quoted\", disk", "note": "two\nlines", "password": "p"},
                {"pvc": " padded", "bytes": null, "labels": {"a": "b"}},
            ]),
        );
        assert_eq!(
            out,
            "pvc,bytes,ok,note,password,labels\n\
             app/disk,1024,true,,,\n\
             \"app/\"\"quoted\"\", disk\",,,\"two\nlines\",********,\n\
             \" padded\",,,,,\"{\"\"a\"\":\"\"b\"\"}\"\n"
        );
        assert_eq!(redacted, ["row 2, column password"]);
    }

    #[test]
    fn csv_from_lists_keeps_rows_and_masks_secret_columns() {
        let (out, redacted) = text(
            "users.csv",
            json!([["user", "token"], ["alice", "t0k"], ["bob", null]]),
        );
        assert_eq!(out, "user,token\nalice,********\nbob,\n");
        assert_eq!(redacted, ["row 1, column token"]);
        assert_eq!(text("empty.csv", json!([])).0, "");
    }

    #[test]
    fn bad_data_is_named() {
        let err = |name: &str, v: Value| render(name, &v).unwrap_err().to_string();
        assert_eq!(
            err("x.csv", json!({"a": 1})),
            "data \"x.csv\": a .csv entry must be a list of rows (objects or lists), got a mapping"
        );
        assert_eq!(
            err("x.csv", json!([{"a": 1}, 3])),
            "data \"x.csv\": row 1 is a number, expected an object or a list"
        );
        assert_eq!(
            err("x.csv", json!([{"a": 1}, [3]])),
            "data \"x.csv\": rows mix objects and lists: use one kind"
        );
        assert_eq!(
            err("x.txt", json!("hello")),
            "data \"x.txt\": the name must end in .json (any JSON value) or .csv (a list of rows)"
        );
    }
}
