//! What an rsync exit status means for the sync of one volume, and when to try again.
//!
//! Codes are those of rsync's manual (EXIT VALUES). When ssh itself fails (refused, timed out,
//! unknown host key, key not accepted) rsync exits with ssh's 255; ssh's own message on stderr
//! tells a network failure, worth retrying, from an authentication or configuration failure,
//! which the next attempt would only repeat.

use std::time::Duration;

/// The verdict on one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Exit 0.
    Success,
    /// Exit 24: files vanished from the source while rsync ran (a live volume); everything
    /// else was synced, so this is a warning, not a failure.
    Vanished,
    /// A connection-level failure another attempt may get past.
    Retry,
    /// A failure another attempt would repeat.
    Fail,
}

/// The meaning of an rsync exit status, as the manual words it.
pub fn meaning(code: i32) -> &'static str {
    match code {
        0 => "success",
        1 => "syntax or usage error",
        2 => "protocol incompatibility",
        3 => "errors selecting input/output files, dirs",
        4 => "requested action not supported",
        5 => "error starting client-server protocol",
        6 => "daemon unable to append to log-file",
        10 => "error in socket I/O",
        11 => "error in file I/O",
        12 => "error in rsync protocol data stream",
        13 => "errors with program diagnostics",
        14 => "error in IPC code",
        20 => "received SIGUSR1 or SIGINT",
        21 => "some error returned by waitpid()",
        22 => "error allocating core memory buffers",
        23 => "partial transfer due to error",
        24 => "partial transfer due to vanished source files",
        25 => "the --max-delete limit stopped deletions",
        30 => "timeout in data send/receive",
        35 => "timeout waiting for daemon connection",
        255 => "ssh failed (connection or authentication)",
        _ => "unknown exit status",
    }
}

/// ssh and remote-shell messages that no retry can fix.
const PERMANENT: &[&str] = &[
    "Permission denied",
    "Host key verification failed",
    "REMOTE HOST IDENTIFICATION HAS CHANGED",
    "No matching host key",
    "Too many authentication failures",
    "Bad configuration option",
    "command-line line",
    "Could not resolve hostname",
    "command not found",
    "No such file or directory",
];

/// Classifies an attempt from its exit status and stderr.
///
/// ```
/// use ocpdr_core::rsync::{classify, Verdict};
/// assert_eq!(classify(0, ""), Verdict::Success);
/// assert_eq!(classify(24, "file has vanished: \"/x/tmp.1\""), Verdict::Vanished);
/// assert_eq!(classify(255, "ssh: connect to host nfs-dr port 22: Connection refused"), Verdict::Retry);
/// assert_eq!(classify(255, "root@nfs-dr: Permission denied (publickey)."), Verdict::Fail);
/// assert_eq!(classify(23, "rsync: [sender] change_dir \"/x\" failed"), Verdict::Fail);
/// ```
pub fn classify(code: i32, stderr: &str) -> Verdict {
    match code {
        0 => Verdict::Success,
        24 => Verdict::Vanished,
        5 | 10 | 12 | 30 | 35 | 255 if !PERMANENT.iter().any(|p| stderr.contains(p)) => {
            Verdict::Retry
        }
        _ => Verdict::Fail,
    }
}

/// How long to wait before attempt number `attempt` (2 for the first retry): 2 s, then
/// doubling up to one minute, like VolSync's movers (2, 4, 8, 16 s).
pub fn backoff(attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(2).min(5);
    Duration::from_secs((2u64 << exponent).min(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_retried_authentication_failures_are_not() {
        let refused = "ssh: connect to host 127.0.0.2 port 22: Connection refused\n\
                       rsync: connection unexpectedly closed (0 bytes received so far) [sender]\n\
                       rsync error: unexplained error (code 255) at io.c(232) [sender=3.2.7]";
        assert_eq!(classify(255, refused), Verdict::Retry);
        assert_eq!(
            classify(12, "rsync: connection unexpectedly closed"),
            Verdict::Retry
        );
        assert_eq!(classify(30, "rsync: timeout"), Verdict::Retry);
        assert_eq!(
            classify(255, "Host key verification failed."),
            Verdict::Fail
        );
        assert_eq!(
            classify(12, "bash: line 1: rsync: command not found"),
            Verdict::Fail
        );
        assert_eq!(classify(23, "anything"), Verdict::Fail);
        assert_eq!(classify(11, "No space left on device"), Verdict::Fail);
        assert_eq!(classify(1, "rsync: --bogus: unknown option"), Verdict::Fail);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let secs: Vec<u64> = (2..=9).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn every_documented_code_has_a_meaning() {
        for code in [
            0, 1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24, 25, 30, 35, 255,
        ] {
            assert_ne!(meaning(code), "unknown exit status", "{code}");
        }
        assert_eq!(meaning(99), "unknown exit status");
    }
}
