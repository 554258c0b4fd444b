//! Absolute POSIX paths on the NFS servers: validation, normalisation and prefix arithmetic.
//!
//! Paths here are strings that end up in rsync command lines and in PersistentVolume specs on
//! another machine, never paths on the machine running this code, so they are handled as text
//! with POSIX rules rather than with [`std::path`]. Every destructive step (rsync `--delete`,
//! quarantine moves) checks its target through [`normalize`] and [`is_within`] first.

use std::fmt;

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path {path:?} {reason}")]
pub struct PathError {
    /// The path as given.
    pub path: String,
    /// What is wrong with it, phrased to follow the path.
    pub reason: PathProblem,
}

/// The ways a path can be unacceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathProblem {
    /// Empty string.
    Empty,
    /// Does not start with `/`.
    Relative,
    /// Has a `..` component.
    ParentComponent,
    /// Contains a NUL byte.
    Nul,
    /// Is the filesystem root, never acceptable as a target.
    Root,
}

impl fmt::Display for PathProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathProblem::Empty => "is empty: expected an absolute path",
            PathProblem::Relative => "is relative: expected an absolute path starting with /",
            PathProblem::ParentComponent => {
                "contains `..`: expected a path without parent components"
            }
            PathProblem::Nul => "contains a NUL byte",
            PathProblem::Root => "is the root directory `/`: refusing to use it as a target",
        })
    }
}

/// Normalises an absolute path: collapses repeated `/`, drops `.` components and any trailing
/// `/`. Refuses empty, relative, `..`-containing and NUL-containing paths. `/` itself is
/// returned as `/`; use [`normalize_target`] where the root must be refused too.
///
/// ```
/// use ocpdr_core::paths::normalize;
/// assert_eq!(normalize("/exports//app/./disk/")?, "/exports/app/disk");
/// assert!(normalize("exports/app").is_err());
/// assert!(normalize("/exports/../etc").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn normalize(path: &str) -> Result<String, PathError> {
    let fail = |reason| {
        Err(PathError {
            path: path.to_owned(),
            reason,
        })
    };
    if path.is_empty() {
        return fail(PathProblem::Empty);
    }
    if path.contains('\0') {
        return fail(PathProblem::Nul);
    }
    if !path.starts_with('/') {
        return fail(PathProblem::Relative);
    }
    let mut out = String::with_capacity(path.len());
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => return fail(PathProblem::ParentComponent),
            c => {
                out.push('/');
                out.push_str(c);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// Like [`normalize`], and also refuses `/`: for directories that will be written or deleted.
pub fn normalize_target(path: &str) -> Result<String, PathError> {
    let normalized = normalize(path)?;
    if normalized == "/" {
        return Err(PathError {
            path: path.to_owned(),
            reason: PathProblem::Root,
        });
    }
    Ok(normalized)
}

/// Whether normalised `path` equals normalised `root` or lies below it (component-wise, so
/// `/exports/ab` is not within `/exports/a`).
pub fn is_within(path: &str, root: &str) -> bool {
    strip_root(path, root).is_some()
}

/// The part of normalised `path` below normalised `root` (`""` when equal, else starting with
/// `/`), or `None` when `path` is not within `root`.
pub fn strip_root<'a>(path: &'a str, root: &str) -> Option<&'a str> {
    if root == "/" {
        return Some(if path == "/" { "" } else { path });
    }
    let rest = path.strip_prefix(root)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_refuses() {
        assert_eq!(normalize("/").unwrap(), "/");
        assert_eq!(normalize("///a//b/").unwrap(), "/a/b");
        assert_eq!(normalize("").unwrap_err().reason, PathProblem::Empty);
        assert_eq!(normalize("a/b").unwrap_err().reason, PathProblem::Relative);
        assert_eq!(
            normalize("/a/../b").unwrap_err().reason,
            PathProblem::ParentComponent
        );
        assert_eq!(normalize("/a\0").unwrap_err().reason, PathProblem::Nul);
        assert_eq!(
            normalize_target("//").unwrap_err().reason,
            PathProblem::Root
        );
        assert_eq!(
            normalize_target("/a/..").unwrap_err().to_string(),
            "path \"/a/..\" contains `..`: expected a path without parent components"
        );
    }

    #[test]
    fn within_is_component_wise() {
        assert!(is_within("/exports/a", "/exports/a"));
        assert!(is_within("/exports/a/b", "/exports/a"));
        assert!(!is_within("/exports/ab", "/exports/a"));
        assert!(is_within("/anything", "/"));
        assert_eq!(strip_root("/exports/a/b", "/exports"), Some("/a/b"));
        assert_eq!(strip_root("/exports", "/exports"), Some(""));
        assert_eq!(strip_root("/x", "/exports"), None);
    }
}
