//! `meta.k8s.io/v1` Table output, which kubectl asks for (`Accept: ...;as=Table;...`) to print
//! `kubectl get`: NAME, the type's printer columns, AGE, and per row the object's metadata
//! (or the whole object with `includeObject=Object`).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::resources::ResourceDef;

/// Whether the Accept header asks for a Table.
pub fn wanted(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table"))
}

/// What each row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    /// Nothing.
    None,
    /// `PartialObjectMetadata` (the default).
    Metadata,
    /// The full object.
    Object,
}

impl Include {
    /// From the `includeObject` query parameter.
    pub fn parse(v: Option<&str>) -> Include {
        match v {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

fn columns(res: &ResourceDef) -> Value {
    let mut cols = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0}),
    ];
    for c in &res.printer_columns {
        cols.push(json!({"name": c.name, "type": c.type_, "format": "", "description": c.json_path, "priority": 0}));
    }
    cols.push(json!({"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp is the time the object was created.", "priority": 0}));
    Value::Array(cols)
}

fn cell(obj: &Value, path: &str) -> Value {
    let mut node = obj;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        match node.get(part) {
            Some(n) => node = n,
            None => return json!(""),
        }
    }
    match node {
        Value::Array(items) => {
            json!(
                items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
        Value::Object(_) => json!(node.to_string()),
        Value::Null => json!(""),
        other => other.clone(),
    }
}

fn row(res: &ResourceDef, obj: &Value, include: Include) -> Value {
    let mut cells = vec![obj.pointer("/metadata/name").cloned().unwrap_or(json!(""))];
    cells.extend(res.printer_columns.iter().map(|c| cell(obj, &c.json_path)));
    cells.push(json!(age(obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str))));
    let mut r = json!({"cells": cells});
    match include {
        Include::None => {}
        Include::Metadata => {
            r["object"] = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]});
        }
        Include::Object => r["object"] = obj.clone(),
    }
    r
}

/// A Table of `objects`, with the list's resourceVersion and continue token.
pub fn table(
    res: &ResourceDef,
    objects: &[Arc<Value>],
    rv: u64,
    cont: Option<&str>,
    include: Include,
) -> Value {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": columns(res),
        "rows": objects.iter().map(|o| row(res, o, include)).collect::<Vec<_>>(),
    })
}

/// A one-row Table for a single object (a GET or a watch event).
pub fn single(res: &ResourceDef, obj: &Value, include: Include) -> Value {
    let rv = obj
        .pointer("/metadata/resourceVersion")
        .cloned()
        .unwrap_or(json!(""));
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": columns(res),
        "rows": [row(res, obj, include)],
    })
}

/// The age of an object as kubectl prints it (`5s`, `3m2s`, `4h`, `2d3h`).
fn age(created: Option<&str>) -> String {
    let Some(t) = created.and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok()) else {
        return "<unknown>".to_owned();
    };
    human_duration((chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds())
}

/// Kubernetes' `duration.HumanDuration`.
fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".to_owned();
    }
    let secs = secs.max(0);
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_kubectl() {
        for (s, want) in [
            (5, "5s"),
            (119, "119s"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (50 * 3600, "2d2h"),
        ] {
            assert_eq!(human_duration(s), want);
        }
    }

    #[test]
    fn table_asked_only_when_first_choice() {
        assert!(wanted(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        ));
        assert!(!wanted("application/json"));
    }
}
