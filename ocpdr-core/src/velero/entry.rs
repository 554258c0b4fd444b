//! Archive entry names: the safety check every name passes first, then what the name means in
//! Velero's layout (`metadata/version`, `resources/<gr>/[<ver>/]{cluster|namespaces/<ns>}/<name>.json`).
//!
//! Nothing is ever extracted to disk, but a name that would escape an extraction directory
//! (`..`, a leading `/`, a `\`) or that hides a NUL is a sign of a crafted archive: such entries
//! are refused and reported, never read.

use serde::Serialize;
use std::fmt;

/// Why an entry name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// Not valid UTF-8.
    NotUtf8,
    /// Contains a NUL byte.
    Nul,
    /// Starts with `/`.
    Absolute,
    /// Has a `..` component.
    ParentComponent,
    /// Contains `\` (a Windows separator, or an escape attempt).
    Backslash,
    /// Has an empty or `.` component (`a//b`, `./a`).
    EmptyComponent,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejection::NotUtf8 => "name is not UTF-8",
            Rejection::Nul => "name contains a NUL byte",
            Rejection::Absolute => "absolute name",
            Rejection::ParentComponent => "name contains `..` (path traversal)",
            Rejection::Backslash => "name contains a backslash",
            Rejection::EmptyComponent => "name has an empty or `.` component",
        })
    }
}

/// Checks an entry name; returns it as text when it is safe.
pub fn check_name(raw: &[u8]) -> Result<&str, Rejection> {
    if raw.contains(&0) {
        return Err(Rejection::Nul);
    }
    let name = std::str::from_utf8(raw).map_err(|_| Rejection::NotUtf8)?;
    if name.starts_with('/') {
        return Err(Rejection::Absolute);
    }
    if name.contains('\\') {
        return Err(Rejection::Backslash);
    }
    for component in name.split('/') {
        match component {
            ".." => return Err(Rejection::ParentComponent),
            "" | "." => return Err(Rejection::EmptyComponent),
            _ => {}
        }
    }
    Ok(name)
}

/// Which copy of an item an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy<'a> {
    /// `resources/<gr>/{cluster,namespaces/<ns>}/...`: present in every format; what restore reads.
    Canonical,
    /// `resources/<gr>/<ver>-preferredversion/...`: byte-identical duplicate (format 1.1.0).
    Preferred(&'a str),
    /// `resources/<gr>/<ver>/...`: the object at another API version (EnableAPIGroupVersions).
    OtherVersion(&'a str),
}

/// An item entry's place in the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemPath<'a> {
    /// Directory name: `persistentvolumes`, `deployments.apps`, ...
    pub group_resource: &'a str,
    /// Which copy this is.
    pub copy: Copy<'a>,
    /// Namespace for namespaced objects.
    pub namespace: Option<&'a str>,
    /// Object name: the file name minus one `.json`.
    pub name: &'a str,
}

/// What an entry is, by its (already checked) name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryPath<'a> {
    /// `metadata/version`.
    Version,
    /// A backed-up object.
    Item(ItemPath<'a>),
    /// Anything else: ignored, as Velero's restore ignores unexpected files.
    Other,
}

/// Classifies a checked entry name.
pub fn classify(name: &str) -> EntryPath<'_> {
    if name == "metadata/version" {
        return EntryPath::Version;
    }
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["resources", gr, "cluster", file] => item(gr, Copy::Canonical, None, file),
        ["resources", gr, "namespaces", ns, file] => item(gr, Copy::Canonical, Some(ns), file),
        ["resources", gr, ver, "cluster", file] => item(gr, version_copy(ver), None, file),
        ["resources", gr, ver, "namespaces", ns, file] => {
            item(gr, version_copy(ver), Some(ns), file)
        }
        _ => EntryPath::Other,
    }
}

fn item<'a>(
    group_resource: &'a str,
    copy: Copy<'a>,
    namespace: Option<&'a str>,
    file: &'a str,
) -> EntryPath<'a> {
    match file.strip_suffix(".json") {
        Some(name) if !name.is_empty() => EntryPath::Item(ItemPath {
            group_resource,
            copy,
            namespace,
            name,
        }),
        _ => EntryPath::Other,
    }
}

fn version_copy(dir: &str) -> Copy<'_> {
    match dir.strip_suffix("-preferredversion") {
        Some(ver) => Copy::Preferred(ver),
        None => Copy::OtherVersion(dir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_rejected() {
        assert_eq!(
            check_name(b"../escape.json"),
            Err(Rejection::ParentComponent)
        );
        assert_eq!(
            check_name(b"resources/pv/cluster/../../x.json"),
            Err(Rejection::ParentComponent)
        );
        assert_eq!(check_name(b"/etc/passwd"), Err(Rejection::Absolute));
        assert_eq!(check_name(b"a\0b"), Err(Rejection::Nul));
        assert_eq!(check_name(b"a\\b"), Err(Rejection::Backslash));
        assert_eq!(check_name(b"a//b"), Err(Rejection::EmptyComponent));
        assert_eq!(check_name(b"./a"), Err(Rejection::EmptyComponent));
        assert_eq!(check_name(b"\xff"), Err(Rejection::NotUtf8));
        assert_eq!(check_name("resources/clusterroles.rbac.authorization.k8s.io/cluster/system:aggregate-to-admin.json".as_bytes()).map(|_| ()), Ok(()));
    }

    #[test]
    fn layout_is_understood() {
        assert_eq!(classify("metadata/version"), EntryPath::Version);
        assert_eq!(
            classify("resources/persistentvolumes/cluster/pv-1.json"),
            EntryPath::Item(ItemPath {
                group_resource: "persistentvolumes",
                copy: Copy::Canonical,
                namespace: None,
                name: "pv-1"
            })
        );
        assert_eq!(
            classify("resources/configmaps/namespaces/app/my.cfg.json"),
            EntryPath::Item(ItemPath {
                group_resource: "configmaps",
                copy: Copy::Canonical,
                namespace: Some("app"),
                name: "my.cfg"
            })
        );
        assert_eq!(
            classify("resources/persistentvolumes/v1-preferredversion/cluster/pv-1.json"),
            EntryPath::Item(ItemPath {
                group_resource: "persistentvolumes",
                copy: Copy::Preferred("v1"),
                namespace: None,
                name: "pv-1"
            })
        );
        assert_eq!(
            classify(
                "resources/horizontalpodautoscalers.autoscaling/v2beta2/namespaces/app/web.json"
            ),
            EntryPath::Item(ItemPath {
                group_resource: "horizontalpodautoscalers.autoscaling",
                copy: Copy::OtherVersion("v2beta2"),
                namespace: Some("app"),
                name: "web"
            })
        );
        assert_eq!(
            classify("resources/persistentvolumes/cluster/.json"),
            EntryPath::Other
        );
        assert_eq!(
            classify("resources/persistentvolumes/cluster/pv.yaml"),
            EntryPath::Other
        );
        assert_eq!(classify("metadata/other"), EntryPath::Other);
    }
}
