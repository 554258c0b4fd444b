//! One side of a volume sync: a local path or `[user@]host:path` reached over SSH.
//!
//! The host and user end up as arguments of `ssh`, so they are checked strictly: a host that
//! starts with `-` would be read by ssh as an option (`-oProxyCommand=...`). rsync daemon
//! addresses (`host::module`, `rsync://`) are refused: the module only speaks rsync over SSH.

use crate::paths::{self, PathError};
use std::fmt;

/// A parsed source or destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `user` of `user@host:path`; `None` for local paths or when the spec has none.
    pub user: Option<String>,
    /// `host` of `[user@]host:path`; `None` for a local path.
    pub host: Option<String>,
    /// The normalised absolute path (no trailing `/`, never `/`).
    pub path: String,
}

/// Why an endpoint spec was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// The path part is unacceptable.
    #[error(transparent)]
    Path(#[from] PathError),
    /// `host::module` or `rsync://`: the rsync daemon protocol.
    #[error("{0:?} is an rsync daemon address: expected a local path or [user@]host:/path (SSH)")]
    Daemon(String),
    /// The host part is empty or has characters no host name or address has.
    #[error("{spec:?} has host {host:?}: expected a host name or address (not starting with -)")]
    BadHost {
        /// The spec as given.
        spec: String,
        /// The host part.
        host: String,
    },
    /// The user part is empty or has characters a login name does not have.
    #[error("{spec:?} has user {user:?}: expected a login name of letters, digits, `.`, `_`, `-`")]
    BadUser {
        /// The spec as given.
        spec: String,
        /// The user part.
        user: String,
    },
}

impl Endpoint {
    /// Parses `spec` as rsync does: a `:` before the first `/` makes it remote. The path must be
    /// absolute, without `..`, and not `/` (see [`paths::normalize_target`]).
    ///
    /// ```
    /// use ocpdr_core::rsync::Endpoint;
    /// let e = Endpoint::parse("root@nfs-dr:/exports-dr//app/")?;
    /// assert_eq!((e.user.as_deref(), e.host.as_deref(), e.path.as_str()),
    ///            (Some("root"), Some("nfs-dr"), "/exports-dr/app"));
    /// assert!(Endpoint::parse("/exports/app")?.host.is_none());
    /// assert!(Endpoint::parse("nfs-a:exports/app").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(spec: &str) -> Result<Self, EndpointError> {
        if spec.starts_with("rsync://") {
            return Err(EndpointError::Daemon(spec.to_owned()));
        }
        let (remote, path) = split_remote(spec);
        if remote.is_some() && path.starts_with(':') {
            return Err(EndpointError::Daemon(spec.to_owned()));
        }
        let path = paths::normalize_target(path)?;
        let Some(remote) = remote else {
            return Ok(Endpoint {
                user: None,
                host: None,
                path,
            });
        };
        let (user, host) = match remote.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, remote),
        };
        if let Some(user) = user
            && !valid_user(user)
        {
            return Err(EndpointError::BadUser {
                spec: spec.to_owned(),
                user: user.to_owned(),
            });
        }
        if !valid_host(host) {
            return Err(EndpointError::BadHost {
                spec: spec.to_owned(),
                host: host.to_owned(),
            });
        }
        Ok(Endpoint {
            user: user.map(str::to_owned),
            host: Some(host.to_owned()),
            path,
        })
    }

    /// Whether the path is on another host.
    pub fn is_remote(&self) -> bool {
        self.host.is_some()
    }

    /// The argument rsync gets: the spec with a trailing `/`, so the *contents* of the source
    /// directory are mirrored into the destination directory.
    pub fn rsync_arg(&self) -> String {
        format!("{self}/")
    }

    /// Whether both endpoints are on the same machine and one path is within the other.
    pub fn overlaps(&self, other: &Endpoint) -> bool {
        self.host == other.host
            && (paths::is_within(&self.path, &other.path)
                || paths::is_within(&other.path, &self.path))
    }
}

impl fmt::Display for Endpoint {
    /// The spec: `path`, `host:path` or `user@host:path`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.user, &self.host) {
            (Some(user), Some(host)) => write!(f, "{user}@{host}:{}", self.path),
            (None, Some(host)) => write!(f, "{host}:{}", self.path),
            _ => f.write_str(&self.path),
        }
    }
}

/// Splits `[user@]host:path` at the first `:` that comes before any `/` (rsync's rule); a
/// spec starting with `/` is always local, and a bracketed IPv6 host (`[fd00::1]:path`) is
/// kept whole.
fn split_remote(spec: &str) -> (Option<&str>, &str) {
    if spec.starts_with('/') {
        return (None, spec);
    }
    let host_start = spec.find('@').map_or(0, |at| at + 1);
    if spec[host_start..].starts_with('[')
        && let Some(close) = spec[host_start..].find("]:")
    {
        let colon = host_start + close + 1;
        return (Some(&spec[..colon]), &spec[colon + 1..]);
    }
    match spec.find([':', '/']) {
        Some(i) if spec.as_bytes()[i] == b':' => (Some(&spec[..i]), &spec[i + 1..]),
        _ => (None, spec),
    }
}

fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !inner.is_empty() && inner.chars().all(|c| c.is_ascii_hexdigit() || c == ':');
    }
    !host.is_empty()
        && !host.starts_with('-')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
}

/// Whether `user` is a login name ssh can be given safely (not an option, no spaces).
pub(crate) fn valid_user(user: &str) -> bool {
    !user.is_empty()
        && !user.starts_with('-')
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::PathProblem;

    fn parts(spec: &str) -> (Option<String>, Option<String>, String) {
        let e = Endpoint::parse(spec).unwrap();
        (e.user, e.host, e.path)
    }

    #[test]
    fn parses_local_and_remote() {
        assert_eq!(parts("/a/b/"), (None, None, "/a/b".into()));
        assert_eq!(
            parts("nfs-a.example.com:/x"),
            (None, Some("nfs-a.example.com".into()), "/x".into())
        );
        assert_eq!(
            parts("svc_dr@10.0.0.5:/x/y"),
            (
                Some("svc_dr".into()),
                Some("10.0.0.5".into()),
                "/x/y".into()
            )
        );
        assert_eq!(
            parts("root@[fd00::5]:/x"),
            (Some("root".into()), Some("[fd00::5]".into()), "/x".into())
        );
        // A colon after the first slash belongs to a local path.
        assert_eq!(parts("/exports/a:b"), (None, None, "/exports/a:b".into()));
        assert_eq!(
            Endpoint::parse("root@nfs:/x").unwrap().rsync_arg(),
            "root@nfs:/x/"
        );
    }

    #[test]
    fn refuses_what_rsync_or_ssh_would_misread() {
        let err = |spec| Endpoint::parse(spec).unwrap_err();
        assert!(matches!(err("nfs::module/x"), EndpointError::Daemon(_)));
        assert!(matches!(err("rsync://nfs/x"), EndpointError::Daemon(_)));
        assert!(matches!(
            err("-oProxyCommand=evil:/x"),
            EndpointError::BadHost { .. }
        ));
        assert!(matches!(err(":/x"), EndpointError::BadHost { .. }));
        assert!(matches!(err("a b:/x"), EndpointError::BadHost { .. }));
        assert!(matches!(err("-l@nfs:/x"), EndpointError::BadUser { .. }));
        assert!(matches!(
            err("nfs:relative"),
            EndpointError::Path(PathError {
                reason: PathProblem::Relative,
                ..
            })
        ));
        assert!(matches!(
            err("nfs:/"),
            EndpointError::Path(PathError {
                reason: PathProblem::Root,
                ..
            })
        ));
        assert!(matches!(
            err("/x/../etc"),
            EndpointError::Path(PathError {
                reason: PathProblem::ParentComponent,
                ..
            })
        ));
        assert!(matches!(
            err(""),
            EndpointError::Path(PathError {
                reason: PathProblem::Empty,
                ..
            })
        ));
        assert_eq!(
            err("-oProxyCommand=evil:/x").to_string(),
            "\"-oProxyCommand=evil:/x\" has host \"-oProxyCommand=evil\": expected a host name or address (not starting with -)"
        );
    }

    #[test]
    fn overlap_is_per_host_and_component_wise() {
        let e = |s| Endpoint::parse(s).unwrap();
        assert!(e("/dr/a").overlaps(&e("/dr/a/b")));
        assert!(e("/dr/a/b").overlaps(&e("/dr/a")));
        assert!(!e("/dr/a").overlaps(&e("/dr/ab")));
        assert!(!e("h1:/dr/a").overlaps(&e("h2:/dr/a")));
        assert!(e("h1:/dr/a").overlaps(&e("u@h1:/dr/a")));
    }
}
