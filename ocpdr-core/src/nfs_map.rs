//! Where data of the primary NFS server lives on DR: the DR server name and the path map.
//!
//! Both PersistentVolumes ([`crate::retarget`]) and CSI snapshot archives ([`crate::snapshot`])
//! name a directory on the primary NFS server that must be named on the DR server instead. The
//! rules are the same for both and live here once: `path_map` prefixes match whole path
//! components and the longest `from` wins; a path no entry covers is an error unless the caller
//! asks to keep it (a silent identity mapping could point DR at an unexpected directory); a
//! mapped path that is relative, contains `..` or is `/` is always refused.

use crate::paths::{self, PathError};
use serde::{Deserialize, Serialize};

/// One path prefix mapping from the primary export tree to the DR export tree.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PathMapping {
    /// Absolute path prefix on the primary NFS server.
    pub from: String,
    /// Absolute path prefix on the DR NFS server that replaces `from`.
    pub to: String,
}

/// What to do with a path that no [`PathMapping`] covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unmapped {
    /// Refuse it: a silent identity mapping could point DR at an unexpected directory.
    #[default]
    Fail,
    /// Use the same path on the DR server.
    Keep,
}

/// What to do with an object whose data is not on NFS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NonNfs {
    /// Leave it out of the result and say why.
    #[default]
    Skip,
    /// Treat it as an error.
    Fail,
}

/// An object left out of a retargeting result, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The object's name.
    pub name: String,
    /// Why it was skipped.
    pub reason: String,
}

/// The DR server name or a `path_map` entry is unusable; checked once, before any object.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `dr_nfs_server` is empty or malformed.
    #[error("dr_nfs_server {0:?} is not a host name or address")]
    BadServer(String),
    /// A `path_map` entry is unusable.
    #[error("path_map[{index}].{field}: {source}")]
    BadMapping {
        /// Position in `path_map`.
        index: usize,
        /// `from` or `to`.
        field: &'static str,
        /// What is wrong with the path.
        #[source]
        source: PathError,
    },
}

/// Why one path could not be mapped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MapError {
    /// No mapping covers the path and `unmapped` is `fail`.
    #[error(
        "no path_map entry covers {path:?} (known prefixes: {known}); add one, or set unmapped: keep"
    )]
    Unmapped {
        /// The unmapped source path.
        path: String,
        /// The configured `from` prefixes, for the message.
        known: String,
    },
    /// The mapped path is unacceptable.
    #[error(transparent)]
    Path(#[from] PathError),
}

/// Checks the DR server name (it ends up in PV specs and CSI handles, where `/`, `#` and
/// spaces would change their meaning) and every `path_map` entry.
pub fn validate(dr_nfs_server: &str, path_map: &[PathMapping]) -> Result<(), ConfigError> {
    let server = dr_nfs_server;
    if server.is_empty() || server.contains(|c: char| c.is_whitespace() || c == '/' || c == '#') {
        return Err(ConfigError::BadServer(server.to_owned()));
    }
    for (index, mapping) in path_map.iter().enumerate() {
        paths::normalize(&mapping.from).map_err(|source| ConfigError::BadMapping {
            index,
            field: "from",
            source,
        })?;
        paths::normalize_target(&mapping.to).map_err(|source| ConfigError::BadMapping {
            index,
            field: "to",
            source,
        })?;
    }
    Ok(())
}

/// Maps a normalised source path through `path_map` (longest `from` wins) and checks the result
/// with [`paths::normalize_target`].
///
/// ```
/// use ocpdr_core::nfs_map::{map, PathMapping, Unmapped};
/// let map_ = vec![PathMapping { from: "/exports".into(), to: "/dr".into() },
///                 PathMapping { from: "/exports/ns1".into(), to: "/dr1".into() }];
/// assert_eq!(map("/exports/ns1/disk", &map_, Unmapped::Fail)?, "/dr1/disk");
/// assert_eq!(map("/exports/ns10/disk", &map_, Unmapped::Fail)?, "/dr/ns10/disk");
/// assert!(map("/srv/disk", &map_, Unmapped::Fail).is_err());
/// assert_eq!(map("/srv/disk", &map_, Unmapped::Keep)?, "/srv/disk");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn map(path: &str, path_map: &[PathMapping], unmapped: Unmapped) -> Result<String, MapError> {
    let best = path_map
        .iter()
        .filter_map(|m| {
            let from = paths::normalize(&m.from).ok()?;
            let rest = paths::strip_root(path, &from)?.to_owned();
            Some((from.len(), m, rest))
        })
        .max_by_key(|(len, _, _)| *len);
    let mapped = match (best, unmapped) {
        (Some((_, mapping, rest)), _) => format!("{}{rest}", mapping.to),
        (None, Unmapped::Keep) => path.to_owned(),
        (None, Unmapped::Fail) => {
            let known: Vec<&str> = path_map.iter().map(|m| m.from.as_str()).collect();
            return Err(MapError::Unmapped {
                path: path.to_owned(),
                known: if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                },
            });
        }
    };
    Ok(paths::normalize_target(&mapped)?)
}

/// `base/relative` for a normalised absolute `base` (which may be `/`) and a relative part
/// without leading or trailing `/`; an empty relative part gives `base`. The result is not
/// checked: normalise it, since `relative` may come from an object and hold `..`.
pub fn join(base: &str, relative: &str) -> String {
    if relative.is_empty() {
        base.to_owned()
    } else if base == "/" {
        format!("/{relative}")
    } else {
        format!("{base}/{relative}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::PathProblem;

    #[test]
    fn validate_refuses_bad_servers_and_mappings() {
        for server in ["", "nfs dr", "nfs/dr", "nfs#dr"] {
            assert_eq!(
                validate(server, &[]),
                Err(ConfigError::BadServer(server.into()))
            );
        }
        let bad = [PathMapping {
            from: "/exports".into(),
            to: "/".into(),
        }];
        match validate("nfs-dr", &bad) {
            Err(ConfigError::BadMapping {
                index: 0,
                field: "to",
                source,
            }) => assert_eq!(source.reason, PathProblem::Root),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mapped_paths_are_checked() {
        let to_root = [PathMapping {
            from: "/exports/a".into(),
            to: "/".into(),
        }];
        assert!(matches!(
            map("/exports/a", &to_root, Unmapped::Fail),
            Err(MapError::Path(_))
        ));
        assert!(matches!(
            map("/", &[], Unmapped::Keep),
            Err(MapError::Path(_))
        ));
        assert_eq!(
            map("/x", &[], Unmapped::Fail).unwrap_err().to_string(),
            "no path_map entry covers \"/x\" (known prefixes: none); add one, or set unmapped: keep"
        );
    }

    #[test]
    fn join_handles_the_root_and_empty_parts() {
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/x", "a"), "/x/a");
        assert_eq!(join("/x", ""), "/x");
    }
}
