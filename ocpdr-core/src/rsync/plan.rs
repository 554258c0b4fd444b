//! Turning [`SyncOptions`] into one checked rsync [`Invocation`] per volume, or refusing:
//! the guards are listed on [`plan`], the default flags and why on [`DEFAULT_FLAGS`].

use super::endpoint::{Endpoint, EndpointError, valid_user};
use super::invocation::{Invocation, rsh_quote};
use super::options::{Mode, SshOptions, SyncOptions};
use crate::paths::{self, PathError};

/// The rsync flags every volume gets, in this order, chosen for VM disk images on NFS:
///
/// `rsync --archive --hard-links --sparse --numeric-ids --inplace --mkpath '--out-format=%i %n'
/// --stats` (+ `--delete`, `--checksum`, `--bwlimit`, `--dry-run`, `-e ssh …` as asked):
///
/// - `--archive`: permissions, times, owner, group, symlinks, devices: what a restored VM and
///   its PVC need (`-rlptgoD`). `--numeric-ids`: the uid/gid the pods use (e.g. `107` for qemu,
///   a namespace's fsGroup) are kept as numbers; mapping them by name between two NFS servers
///   with different `/etc/passwd` would hand the disks to other ids.
/// - `--hard-links`: keep hard-linked files linked (one copy, not two).
/// - `--sparse`: holes in thin disk images stay holes on DR instead of becoming allocated zeros.
/// - `--inplace`: update changed blocks inside the existing DR file instead of writing a full
///   temporary copy and renaming it: the DR side needs no second copy of each image, and only
///   changed blocks are written. It implies `--partial`: a cut transfer leaves what it wrote,
///   and the next run uses it as the basis and resumes instead of starting over. The price: while
///   a file is being updated (or after a cut transfer) the DR copy of that file is a mix of old
///   and new blocks until the next run completes; a temporary-file copy would keep the old
///   version intact. Pass `--no-inplace` in `extra_args` to trade space for that. rsync ≥ 3.1.3
///   on both ends accepts `--inplace` with `--sparse` (holes are punched on update).
/// - `--mkpath` (rsync ≥ 3.2.3 on the receiving end): create the missing parents of a new
///   volume's destination, as a first sync into `/exports-dr/<namespace>/<pv>` needs.
/// - `--out-format='%i %n'` (the itemized changes of `--itemize-changes`, without the
///   ` -> target` of symlinks, so every name reads back unambiguously) and `--stats`: what
///   changed and the figures, parsed into the results.
/// - `--checksum` only when asked: it reads every byte on both ends.
/// - The environment gets `LC_ALL=C` so the output does not depend on the host's locale.
/// - ssh runs with `BatchMode=yes` (never prompts), `ConnectTimeout=30`,
///   `ServerAliveInterval=30`, `ServerAliveCountMax=4` (a dead peer ends the attempt after about
///   two minutes instead of hanging), like VolSync's rsync mover.
///
/// Measured trade-off (docs/BENCHMARKS.md): `--inplace` finds fewer block matches than a
/// temporary-file copy, so an update of scattered small writes sends more literal data;
/// `--block-size=16384` in `extra_args` more than recovers it for images of a few GiB.
pub const DEFAULT_FLAGS: &[&str] = &[
    "--archive",
    "--hard-links",
    "--sparse",
    "--numeric-ids",
    "--inplace",
    "--mkpath",
    "--out-format=%i %n",
    "--stats",
];

/// ssh options every remote volume gets after the ones the user set (ssh keeps the first
/// value it sees for an option, so `ssh.extra_options` can override these).
pub const SSH_DEFAULTS: &[&str] = &[
    "BatchMode=yes",
    "ConnectTimeout=30",
    "ServerAliveInterval=30",
    "ServerAliveCountMax=4",
];

/// One volume, checked and ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedVolume {
    /// The name used in results.
    pub name: String,
    /// Where the data comes from.
    pub source: Endpoint,
    /// Where it goes.
    pub destination: Endpoint,
    /// The rsync process to run.
    pub invocation: Invocation,
}

/// Why a sync request was refused. Nothing has run when one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A volume has an empty name.
    #[error("volumes[{index}].name is empty: expected a name to report the volume under")]
    EmptyName {
        /// Position in `volumes`.
        index: usize,
    },
    /// Two volumes have the same name.
    #[error(
        "volumes[{index}].name {name:?} is also the name of volumes[{first}]: names must be unique"
    )]
    DuplicateName {
        /// Position of the second one.
        index: usize,
        /// Position of the first one.
        first: usize,
        /// The name.
        name: String,
    },
    /// A source or destination is malformed.
    #[error("volumes[{index}] ({name}).{field}: {source}")]
    Endpoint {
        /// Position in `volumes`.
        index: usize,
        /// The volume's name.
        name: String,
        /// `source` or `destination`.
        field: &'static str,
        /// What is wrong.
        #[source]
        source: EndpointError,
    },
    /// Both ends are remote.
    #[error(
        "volumes[{index}] ({name}): source {from} and destination {to} are both remote; \
         rsync copies between the host it runs on and one other, so run the module on one of them \
         (delegate_to)"
    )]
    BothRemote {
        /// Position in `volumes`.
        index: usize,
        /// The volume's name.
        name: String,
        /// The source spec.
        from: String,
        /// The destination spec.
        to: String,
    },
    /// `delete` without `allowed_roots`.
    #[error(
        "delete is true but allowed_roots is empty: list the DR export roots every destination \
         must lie below, or set delete: false"
    )]
    DeleteWithoutRoots,
    /// An allowed root is malformed or `/`.
    #[error("allowed_roots[{index}]: {source}")]
    BadRoot {
        /// Position in `allowed_roots`.
        index: usize,
        /// What is wrong.
        #[source]
        source: PathError,
    },
    /// A destination is outside every allowed root.
    #[error(
        "volumes[{index}] ({name}).destination {path:?} is not below any of allowed_roots ({roots})"
    )]
    OutsideRoots {
        /// Position in `volumes`.
        index: usize,
        /// The volume's name.
        name: String,
        /// The normalised destination path.
        path: String,
        /// The allowed roots, comma-separated.
        roots: String,
    },
    /// A destination is an allowed root itself while deleting.
    #[error(
        "volumes[{index}] ({name}).destination {path:?} is an allowed root itself: with delete it \
         would remove everything else below it; give the volume's own directory"
    )]
    DestinationIsRoot {
        /// Position in `volumes`.
        index: usize,
        /// The volume's name.
        name: String,
        /// The destination path.
        path: String,
    },
    /// Two destinations are the same directory or nested.
    #[error(
        "volumes[{index}] ({name}).destination {destination} overlaps volumes[{other}] \
         ({other_name}).destination {other_destination}: each volume needs its own directory, \
         not one inside another"
    )]
    Overlap {
        /// Position of the later volume.
        index: usize,
        /// Its name.
        name: String,
        /// Its destination.
        destination: String,
        /// Position of the earlier volume.
        other: usize,
        /// Its name.
        other_name: String,
        /// Its destination.
        other_destination: String,
    },
    /// An `extra_args` entry is refused.
    #[error("extra_args[{index}] {arg:?}: {reason}")]
    ExtraArg {
        /// Position in `extra_args`.
        index: usize,
        /// The argument.
        arg: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// An `ssh` option is unusable.
    #[error("ssh.{field} {value:?}: {reason}")]
    Ssh {
        /// The option.
        field: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Checks everything and plans one rsync per volume. `dry_run` (Ansible check mode) adds
/// `--dry-run`; `verify` mode always does.
///
/// Every check runs before anything is started, for all volumes: one bad entry refuses the
/// whole request, so nothing is half-done. The guards:
///
/// - sources and destinations are absolute, without `..`, never `/` ([`paths::normalize_target`]);
/// - with `delete` (the default), `allowed_roots` must be given, none of them `/`, and every
///   destination must lie strictly below one of them (the root itself would take every other
///   volume's data with it); without `delete`, roots that are given still bind;
/// - no two volumes share a destination or nest inside each other on the same host (a
///   `--delete` of the outer one would remove the inner one's data);
/// - `extra_args` are long options only, and none may delete (that bypasses the guards),
///   change the output the results are parsed from, or take over what an option controls.
///
/// ```
/// use ocpdr_core::rsync::{plan, SyncOptions};
/// let options: SyncOptions = serde_json::from_value(serde_json::json!({
///     "volumes": [{"name": "disk", "source": "/exports/app/disk",
///                  "destination": "nfs-dr:/exports-dr/app/disk"}],
///     "allowed_roots": ["/exports-dr"],
///     "ssh": {"user": "root", "port": 2222}}))?;
/// let planned = plan(&options, false)?;
/// assert_eq!(planned[0].invocation.to_string(),
///     "LC_ALL=C rsync --archive --hard-links --sparse --numeric-ids --inplace --mkpath \
///      '--out-format=%i %n' --stats --delete -e 'ssh -p 2222 -o StrictHostKeyChecking=yes \
///      -o BatchMode=yes -o ConnectTimeout=30 -o ServerAliveInterval=30 -o ServerAliveCountMax=4' \
///      /exports/app/disk/ root@nfs-dr:/exports-dr/app/disk/");
///
/// let outside: SyncOptions = serde_json::from_value(serde_json::json!({
///     "volumes": [{"name": "oops", "source": "/exports/a", "destination": "/etc"}],
///     "allowed_roots": ["/exports-dr"]}))?;
/// assert!(plan(&outside, false).unwrap_err().to_string().contains("not below any of allowed_roots"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plan(options: &SyncOptions, dry_run: bool) -> Result<Vec<PlannedVolume>, Error> {
    let roots = check_roots(options)?;
    let extra = check_extra_args(&options.extra_args)?;
    let rsh = rsh_command(&options.ssh)?;
    let mut planned: Vec<PlannedVolume> = Vec::with_capacity(options.volumes.len());
    for (index, entry) in options.volumes.iter().enumerate() {
        let spec = entry.to_spec(options.direction);
        let name = spec.name.trim().to_owned();
        if name.is_empty() {
            return Err(Error::EmptyName { index });
        }
        if let Some(first) = planned.iter().position(|p| p.name == name) {
            return Err(Error::DuplicateName { index, first, name });
        }
        let endpoint = |field, spec: &str| {
            let mut endpoint = Endpoint::parse(spec).map_err(|source| Error::Endpoint {
                index,
                name: name.clone(),
                field,
                source,
            })?;
            if endpoint.is_remote() && endpoint.user.is_none() {
                endpoint.user.clone_from(&options.ssh.user);
            }
            Ok::<_, Error>(endpoint)
        };
        let source = endpoint("source", &spec.source)?;
        let destination = endpoint("destination", &spec.destination)?;
        if source.is_remote() && destination.is_remote() {
            return Err(Error::BothRemote {
                index,
                name,
                from: source.to_string(),
                to: destination.to_string(),
            });
        }
        check_destination(index, &name, &destination.path, &roots, options.delete)?;
        if let Some((other, earlier)) = planned
            .iter()
            .enumerate()
            .find(|(_, p)| p.destination.overlaps(&destination))
        {
            return Err(Error::Overlap {
                index,
                name,
                destination: destination.to_string(),
                other,
                other_name: earlier.name.clone(),
                other_destination: earlier.destination.to_string(),
            });
        }

        let mut invocation = Invocation::new("rsync");
        invocation.env("LC_ALL", "C");
        DEFAULT_FLAGS.iter().for_each(|flag| {
            invocation.arg(flag);
        });
        if options.delete {
            invocation.arg("--delete");
        }
        if options.checksum {
            invocation.arg("--checksum");
        }
        if let Some(rate) = &options.bwlimit {
            invocation.arg(format!("--bwlimit={rate}"));
        }
        if dry_run || options.mode == Mode::Verify {
            invocation.arg("--dry-run");
        }
        if source.is_remote() || destination.is_remote() {
            invocation.arg("-e").arg(&rsh);
        }
        extra.iter().for_each(|arg| {
            invocation.arg(arg);
        });
        invocation
            .arg(source.rsync_arg())
            .arg(destination.rsync_arg());
        planned.push(PlannedVolume {
            name,
            source,
            destination,
            invocation,
        });
    }
    Ok(planned)
}

fn check_roots(options: &SyncOptions) -> Result<Vec<String>, Error> {
    if options.delete && options.allowed_roots.is_empty() {
        return Err(Error::DeleteWithoutRoots);
    }
    options
        .allowed_roots
        .iter()
        .enumerate()
        .map(|(index, root)| {
            paths::normalize_target(root).map_err(|source| Error::BadRoot { index, source })
        })
        .collect()
}

fn check_destination(
    index: usize,
    name: &str,
    path: &str,
    roots: &[String],
    delete: bool,
) -> Result<(), Error> {
    if roots.is_empty() {
        return Ok(());
    }
    match roots.iter().find(|root| paths::is_within(path, root)) {
        None => Err(Error::OutsideRoots {
            index,
            name: name.to_owned(),
            path: path.to_owned(),
            roots: roots.join(", "),
        }),
        Some(root) if delete && root == path => Err(Error::DestinationIsRoot {
            index,
            name: name.to_owned(),
            path: path.to_owned(),
        }),
        Some(_) => Ok(()),
    }
}

/// Options the module sets itself or that would defeat its guards or its output parsing,
/// with the reason given when one shows up in `extra_args`.
const REFUSED: &[(&str, &str)] = &[
    (
        "--del",
        "deletes on the destination: use the delete option, which allowed_roots guards",
    ),
    (
        "--remove-source-files",
        "deletes the source files: never wanted for DR",
    ),
    ("--rsh", "set the ssh option instead"),
    ("--dry-run", "check mode and mode: verify set --dry-run"),
    ("--checksum", "set the checksum option instead"),
    ("--bwlimit", "set the bwlimit option instead"),
    (
        "--itemize-changes",
        "changes the output the results are read from",
    ),
    (
        "--out-format",
        "changes the output the results are read from",
    ),
    ("--info", "changes the output the results are read from"),
    ("--debug", "changes the output the results are read from"),
    ("--stats", "changes the output the results are read from"),
    ("--verbose", "changes the output the results are read from"),
    ("--quiet", "changes the output the results are read from"),
    ("--progress", "changes the output the results are read from"),
    (
        "--human-readable",
        "changes the output the results are read from",
    ),
    (
        "--8-bit-output",
        "changes the output the results are read from",
    ),
    ("--list-only", "lists instead of syncing"),
    (
        "--only-write-batch",
        "writes a batch file instead of syncing",
    ),
    ("--read-batch", "applies a batch file instead of syncing"),
    ("--server", "internal to rsync"),
    ("--sender", "internal to rsync"),
    ("--daemon", "starts an rsync daemon"),
];

fn check_extra_args(args: &[String]) -> Result<Vec<String>, Error> {
    for (index, arg) in args.iter().enumerate() {
        let refuse = |reason| {
            Err(Error::ExtraArg {
                index,
                arg: arg.clone(),
                reason,
            })
        };
        if !arg.starts_with("--") || arg.len() == 2 {
            return refuse(
                "expected a long option (--name or --name=value); short options and paths are \
                 refused so that every option can be checked",
            );
        }
        if arg.contains(['\0', '\n']) {
            return refuse("contains a NUL or newline");
        }
        let option = arg.split_once('=').map_or(arg.as_str(), |(name, _)| name);
        let deletes = option.starts_with("--del");
        if let Some((_, reason)) = REFUSED
            .iter()
            .find(|(name, _)| *name == option || (deletes && *name == "--del"))
        {
            return refuse(reason);
        }
    }
    Ok(args.to_vec())
}

/// The `-e` command: explicit ssh options first, then the user's extra options, then the
/// defaults (ssh keeps the first value of each option).
fn rsh_command(ssh: &SshOptions) -> Result<String, Error> {
    let bad = |field, value: &str, reason| {
        Err(Error::Ssh {
            field,
            value: value.to_owned(),
            reason,
        })
    };
    let mut words: Vec<String> = vec!["ssh".into()];
    if let Some(user) = &ssh.user
        && !valid_user(user)
    {
        return bad(
            "user",
            user,
            "expected a login name of letters, digits, `.`, `_`, `-`",
        );
    }
    if let Some(port) = ssh.port {
        if port == 0 {
            return bad("port", "0", "expected a port between 1 and 65535");
        }
        words.extend(["-p".into(), port.to_string()]);
    }
    if let Some(identity) = &ssh.identity_file {
        if identity.is_empty() || identity.contains(['\0', '\n']) {
            return bad("identity_file", identity, "expected a file path");
        }
        words.extend(["-i".into(), identity.clone()]);
        words.extend(["-o".into(), "IdentitiesOnly=yes".into()]);
    }
    if let Some(known_hosts) = &ssh.known_hosts_file {
        if known_hosts.is_empty()
            || known_hosts.contains(char::is_whitespace)
            || known_hosts.contains(['"', '\0'])
        {
            return bad(
                "known_hosts_file",
                known_hosts,
                "expected a file path without spaces or quotes (ssh splits this option at spaces)",
            );
        }
        words.extend(["-o".into(), format!("UserKnownHostsFile={known_hosts}")]);
    }
    words.extend([
        "-o".into(),
        format!(
            "StrictHostKeyChecking={}",
            ssh.strict_host_key_checking.as_str()
        ),
    ]);
    for option in &ssh.extra_options {
        if option.is_empty() || option.starts_with('-') || option.contains(['\0', '\n']) {
            return bad(
                "extra_options",
                option,
                "expected an ssh option as Key=Value (it is passed with -o)",
            );
        }
        words.extend(["-o".into(), option.clone()]);
    }
    for option in SSH_DEFAULTS {
        words.extend(["-o".into(), (*option).to_owned()]);
    }
    Ok(words
        .iter()
        .map(|w| rsh_quote(w))
        .collect::<Vec<_>>()
        .join(" "))
}

#[cfg(test)]
mod tests;
