//! A process to run, as data: program, arguments and environment, never a shell string.
//!
//! The planner returns an [`Invocation`]; the `modules` crate runs it with
//! `std::process::Command`, so no shell ever parses a path. [`Display`](fmt::Display) renders
//! it with POSIX shell quoting for logs and evidence: the text can be pasted into a shell and
//! runs the same command.

use std::ffi::{OsStr, OsString};
use std::fmt;

/// Program, arguments and extra environment of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The program, looked up on `PATH` when it has no `/`.
    pub program: OsString,
    /// The arguments, one element per argv entry.
    pub args: Vec<OsString>,
    /// Variables set on top of the inherited environment.
    pub env: Vec<(OsString, OsString)>,
}

impl Invocation {
    /// An invocation of `program` without arguments.
    pub fn new(program: impl Into<OsString>) -> Self {
        Invocation {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Appends one argument.
    pub fn arg(&mut self, arg: impl Into<OsString>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable for the process.
    pub fn env(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> &mut Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

impl fmt::Display for Invocation {
    /// `KEY=value program arg...`, each word quoted for a POSIX shell where needed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, value) in &self.env {
            write!(
                f,
                "{}={} ",
                key.to_string_lossy(),
                shell_quote(value.as_os_str())
            )?;
        }
        f.write_str(&shell_quote(&self.program))?;
        for arg in &self.args {
            write!(f, " {}", shell_quote(arg))?;
        }
        Ok(())
    }
}

/// Quotes one word for a POSIX shell: bare when it only holds characters no shell treats
/// specially, else in single quotes (a `'` inside becomes `'\''`). Non-UTF-8 bytes are shown
/// as U+FFFD, so the text is for reading; the argv itself is never re-parsed from it.
pub fn shell_quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Quotes one word for rsync's own splitting of the `--rsh`/`-e` command: rsync splits that
/// string at spaces and honours single and double quotes, where a doubled quote character
/// inside quotes stands for itself (there is no backslash escape).
pub fn rsh_quote(word: &str) -> String {
    if !word.is_empty() && !word.contains([' ', '\'', '"']) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_for_a_shell() {
        let mut inv = Invocation::new("rsync");
        inv.env("LC_ALL", "C")
            .arg("--archive")
            .arg("-e")
            .arg("ssh -p 22")
            .arg("/exports/it's here/")
            .arg("")
            .arg("root@nfs-dr:/dr/vol/");
        assert_eq!(
            inv.to_string(),
            r#"LC_ALL=C rsync --archive -e 'ssh -p 22' '/exports/it'\''s here/' '' root@nfs-dr:/dr/vol/"#
        );
    }

    #[test]
    fn rsh_quoting_follows_rsync_rules() {
        assert_eq!(rsh_quote("/keys/id"), "/keys/id");
        assert_eq!(rsh_quote("/my keys/id"), "'/my keys/id'");
        assert_eq!(rsh_quote("/it's/id"), "'/it''s/id'");
        assert_eq!(rsh_quote(""), "''");
    }
}
