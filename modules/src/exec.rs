//! The process edge: runs a planned [`Invocation`] with `std::process::Command` (never a
//! shell), with an optional deadline, streaming stdout line by line to a handler and keeping
//! the first lines of stderr.
//!
//! This is the only code in the modules crate that starts programs. It lives here rather than
//! in `ocpdr-core` so that the core stays free of processes: the core plans the command and
//! reads its output, this file only moves bytes and enforces the deadline.
//!
//! On the deadline the process is killed (`SIGKILL`). Its own children (rsync's `ssh`) see
//! their pipes close and end on their own; the readers are given a short grace period so a
//! child that lingers on a dead network cannot hold the module up.

use ocpdr_core::rsync::{Ending, Invocation, OutputParser};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// Receives stdout one line at a time, on a reader thread.
pub trait LineSink: Send + 'static {
    /// One line, lossily decoded, without its line ending.
    fn line(&mut self, line: &str);
}

impl LineSink for OutputParser {
    fn line(&mut self, line: &str) {
        OutputParser::line(self, line);
    }
}

/// How long the output readers may take after the process ended.
const READER_GRACE: Duration = Duration::from_secs(10);

/// How a run ended, with what it printed.
#[derive(Debug)]
pub struct Finished<H> {
    /// Exit status, timeout, signal, or failure to start.
    pub ending: Ending,
    /// The first `stderr_lines` lines of stderr.
    pub stderr: Vec<String>,
    /// The stdout sink after it saw every line; `None` if the reader did not finish in time.
    pub stdout: Option<H>,
}

/// Runs `invocation` until it exits or `deadline` passes, feeding each stdout line to `sink`
/// and keeping the first `stderr_lines` lines of stderr.
pub fn run<H: LineSink>(
    invocation: &Invocation,
    deadline: Option<Instant>,
    stderr_lines: usize,
    mut sink: H,
) -> Finished<H> {
    let mut command = Command::new(&invocation.program);
    command
        .args(&invocation.args)
        .envs(invocation.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            return Finished {
                ending: Ending::NotStarted(format!(
                    "{}: {err}",
                    invocation.program.to_string_lossy()
                )),
                stderr: Vec::new(),
                stdout: Some(sink),
            };
        }
    };

    let (stdout_tx, stdout_rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        thread::spawn(move || {
            each_line(out, |line| sink.line(line));
            let _ = stdout_tx.send(sink);
        });
    }
    let (stderr_tx, stderr_rx) = mpsc::channel();
    if let Some(err) = child.stderr.take() {
        thread::spawn(move || {
            let mut kept = Vec::new();
            each_line(err, |line| {
                if kept.len() < stderr_lines {
                    kept.push(line.to_owned());
                }
            });
            let _ = stderr_tx.send(kept);
        });
    }

    let status = match deadline {
        None => child.wait().map(Some),
        Some(deadline) => child.wait_timeout(deadline.saturating_duration_since(Instant::now())),
    };
    let ending = match status {
        Ok(Some(status)) => match (status.code(), status.signal()) {
            (Some(code), _) => Ending::Exited(code),
            (None, Some(signal)) => Ending::Signaled(signal),
            (None, None) => Ending::NotStarted("no exit status".into()),
        },
        Ok(None) => {
            // Deadline passed: kill, then reap so no zombie is left.
            let _ = child.kill();
            let _ = child.wait();
            Ending::TimedOut
        }
        Err(err) => {
            let _ = child.kill();
            let _ = child.wait();
            Ending::NotStarted(format!("waiting for the process failed: {err}"))
        }
    };
    let grace = Instant::now() + READER_GRACE;
    let stdout = stdout_rx
        .recv_timeout(grace.saturating_duration_since(Instant::now()))
        .ok();
    let stderr = stderr_rx
        .recv_timeout(grace.saturating_duration_since(Instant::now()))
        .unwrap_or_default();
    Finished {
        ending,
        stderr,
        stdout,
    }
}

/// Calls `f` with every line of `reader`, decoded lossily, line ending removed.
fn each_line(reader: impl Read, mut f: impl FnMut(&str)) {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf);
                f(line.trim_end_matches(['\n', '\r']));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl LineSink for Vec<String> {
        fn line(&mut self, line: &str) {
            self.push(line.to_owned());
        }
    }

    fn sh(script: &str) -> Invocation {
        let mut inv = Invocation::new("sh");
        inv.arg("-c").arg(script).env("GREETING", "hello");
        inv
    }

    fn run_sh(script: &str, deadline: Option<Instant>) -> Finished<Vec<String>> {
        run(&sh(script), deadline, 2, Vec::new())
    }

    #[test]
    fn streams_stdout_keeps_first_stderr_lines_and_the_status() {
        let finished = run_sh(
            "echo \"$GREETING\"; printf 'a\\nb\\r\\n'; echo e1 >&2; echo e2 >&2; echo e3 >&2; exit 23",
            None,
        );
        assert_eq!(finished.ending, Ending::Exited(23));
        assert_eq!(finished.stderr, ["e1", "e2"]);
        assert_eq!(finished.stdout.unwrap(), ["hello", "a", "b"]);
    }

    #[test]
    fn the_deadline_kills_the_process() {
        let finished = run_sh(
            "echo started; exec sleep 30",
            Some(Instant::now() + Duration::from_millis(200)),
        );
        assert_eq!(finished.ending, Ending::TimedOut);
        assert_eq!(finished.stdout.unwrap(), ["started"]);
    }

    #[test]
    fn a_missing_program_is_reported_not_panicked() {
        let finished = run(&Invocation::new("/nonexistent/rsync"), None, 2, Vec::new());
        match finished.ending {
            Ending::NotStarted(why) => assert!(why.contains("/nonexistent/rsync"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_signal_is_reported() {
        assert_eq!(run_sh("kill -TERM $$", None).ending, Ending::Signaled(15));
    }
}
