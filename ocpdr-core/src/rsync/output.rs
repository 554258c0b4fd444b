//! Reading what rsync printed: itemized changes (`--out-format='%i %n'`, the format of
//! `--itemize-changes` without the `-> target` of symlinks, which made a name containing ` -> `
//! ambiguous), the `--stats` (`--info=stats2`) block, or the `sent … received …` / `total size
//! is …` summary of plain `-v`.
//!
//! [`OutputParser`] takes stdout one line at a time, so a sync of a million files is parsed
//! with bounded memory: every itemized change is counted, only the first `keep` (see
//! [`OutputParser::new`]) are kept. Lines it does not know (`created directory …`,
//! `sending incremental file list`, warnings) are ignored.
//!
//! rsync escapes bytes it will not print as `\#ooo` (octal), e.g. every byte of a non-ASCII
//! name in the C locale; [`unescape`] turns them back into the name.

use serde::Serialize;

/// One itemized change, e.g. `>f.st...... disk.img` or `*deleting   old.img`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The 11-character `%i` code (`>f.st......`), or `*deleting`.
    pub item: String,
    /// The path relative to the volume root, unescaped; directories end with `/`.
    pub path: String,
}

impl Change {
    /// Whether this line reports a deletion on the receiving side.
    pub fn is_deletion(&self) -> bool {
        self.item.starts_with("*deleting")
    }
}

/// The figures of one rsync run; `None` where rsync did not print them (e.g. it failed first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// `Number of files` (files, directories, links… in the source tree).
    pub total_files: Option<u64>,
    /// `Number of created files`.
    pub files_created: Option<u64>,
    /// `Number of deleted files`.
    pub files_deleted: Option<u64>,
    /// `Number of regular files transferred` (would be, under `--dry-run`).
    pub files_transferred: Option<u64>,
    /// `Total file size`, bytes in the source tree.
    pub total_size: Option<u64>,
    /// `Total transferred file size`, bytes of the files that were (would be) updated.
    pub transferred_size: Option<u64>,
    /// `Literal data`: bytes sent as new data.
    pub literal_bytes: Option<u64>,
    /// `Matched data`: bytes the receiver reused from its existing copy (delta transfer).
    pub matched_bytes: Option<u64>,
    /// `Total bytes sent` on the wire by this side.
    pub bytes_sent: Option<u64>,
    /// `Total bytes received` on the wire by this side.
    pub bytes_received: Option<u64>,
}

/// What one run printed: the itemized changes (the first few kept, all counted) and the stats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The first itemized changes, in output order.
    pub changes: Vec<Change>,
    /// How many itemized changes there were in total.
    pub change_count: u64,
    /// How many of them were deletions.
    pub deletion_count: u64,
    /// The figures.
    pub stats: Stats,
}

impl Report {
    /// Whether rsync changed (or, under `--dry-run`, would change) anything: any itemized line,
    /// deletions included. With `--itemize-changes`, rsync prints nothing for an item whose
    /// content and attributes already match.
    pub fn changed(&self) -> bool {
        self.change_count > 0
    }

    /// Whether the list of changes was cut at the `keep` limit.
    pub fn truncated(&self) -> bool {
        self.change_count > self.changes.len() as u64
    }
}

/// Incremental parser: feed stdout lines with [`line`](Self::line), then [`finish`](Self::finish).
#[derive(Debug, Clone)]
pub struct OutputParser {
    keep: usize,
    report: Report,
}

impl OutputParser {
    /// A parser that keeps at most `keep` changes (all are counted).
    pub fn new(keep: usize) -> Self {
        OutputParser {
            keep,
            report: Report::default(),
        }
    }

    /// Takes one line of stdout (with or without its line ending).
    pub fn line(&mut self, line: &str) {
        let line = line.trim_end_matches(['\n', '\r']);
        if let Some(change) = parse_change(line) {
            self.report.change_count += 1;
            if change.is_deletion() {
                self.report.deletion_count += 1;
            }
            if self.report.changes.len() < self.keep {
                self.report.changes.push(change);
            }
        } else {
            parse_stat(line, &mut self.report.stats);
        }
    }

    /// The report of everything fed so far.
    pub fn finish(self) -> Report {
        self.report
    }
}

/// Parses a whole stdout at once, keeping at most `keep` changes.
///
/// ```
/// use ocpdr_core::rsync::parse_output;
/// let out = "*deleting   old.img\n>f.st...... disk.img\n\nNumber of deleted files: 1 (reg: 1)\n\
///            Literal data: 1,048,576 bytes\nMatched data: 3,221,225,472 bytes\n";
/// let report = parse_output(out, 100);
/// assert_eq!(report.change_count, 2);
/// assert_eq!(report.changes[1].path, "disk.img");
/// assert_eq!(report.stats.files_deleted, Some(1));
/// assert_eq!(report.stats.literal_bytes, Some(1_048_576));
/// assert_eq!(report.stats.matched_bytes, Some(3_221_225_472));
/// ```
pub fn parse_output(stdout: &str, keep: usize) -> Report {
    let mut parser = OutputParser::new(keep);
    stdout.lines().for_each(|line| parser.line(line));
    parser.finish()
}

/// An itemize line: `YXcstpoguax name` or `*deleting   name`.
fn parse_change(line: &str) -> Option<Change> {
    if let Some(rest) = line.strip_prefix("*deleting") {
        let name = rest.strip_prefix(' ')?.trim_start_matches(' ');
        return (!name.is_empty()).then(|| Change {
            item: "*deleting".to_owned(),
            path: unescape(name),
        });
    }
    let item = line.get(..11)?;
    let name = line.get(11..)?.strip_prefix(' ')?;
    let bytes = item.as_bytes();
    let update_ok = b"<>ch.".contains(&bytes[0]);
    let kind_ok = b"fdLDS".contains(&bytes[1]);
    let attrs_ok = bytes[2..]
        .iter()
        .all(|b| b.is_ascii_alphabetic() || b".+ ?".contains(b));
    if !(update_ok && kind_ok && attrs_ok) || name.is_empty() {
        return None;
    }
    Some(Change {
        item: item.to_owned(),
        path: unescape(name),
    })
}

/// Fills `stats` from a `--stats` line or from the `-v` summary lines.
fn parse_stat(line: &str, stats: &mut Stats) {
    if let Some((key, value)) = line.split_once(": ") {
        let slot = match key {
            "Number of files" => &mut stats.total_files,
            "Number of created files" => &mut stats.files_created,
            "Number of deleted files" => &mut stats.files_deleted,
            "Number of regular files transferred" => &mut stats.files_transferred,
            "Total file size" => &mut stats.total_size,
            "Total transferred file size" => &mut stats.transferred_size,
            "Literal data" => &mut stats.literal_bytes,
            "Matched data" => &mut stats.matched_bytes,
            "Total bytes sent" => &mut stats.bytes_sent,
            "Total bytes received" => &mut stats.bytes_received,
            _ => return,
        };
        if let Some(n) = value.split_whitespace().next().and_then(parse_number) {
            *slot = Some(n);
        }
    } else if let Some(rest) = line.strip_prefix("sent ") {
        // `sent 206 bytes  received 64 bytes  540.00 bytes/sec` (after --stats or with -v).
        let words: Vec<&str> = rest.split_whitespace().collect();
        if let [sent, "bytes", "received", received, "bytes", ..] = words.as_slice() {
            stats.bytes_sent = stats.bytes_sent.or_else(|| parse_number(sent));
            stats.bytes_received = stats.bytes_received.or_else(|| parse_number(received));
        }
    } else if let Some(rest) = line.strip_prefix("total size is ") {
        let first = rest.split_whitespace().next().unwrap_or_default();
        stats.total_size = stats.total_size.or_else(|| parse_number(first));
    }
}

/// A whole number as rsync prints it, with or without digit separators (`1,048,576`, or
/// `1.048.576` in locales whose decimal point is a comma).
fn parse_number(text: &str) -> Option<u64> {
    let digits: String = text.chars().filter(|c| !matches!(c, ',' | '.')).collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Turns rsync's `\#ooo` escapes back into bytes and the result into text (invalid UTF-8
/// becomes U+FFFD). A backslash not followed by `#` and three octal digits is literal.
pub fn unescape(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && bytes.get(i + 1) == Some(&b'#')
            && let Some(octal) = bytes.get(i + 2..i + 5)
            && octal.iter().all(|b| (b'0'..=b'7').contains(b))
        {
            let value = octal
                .iter()
                .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
            if let Ok(byte) = u8::try_from(value) {
                out.push(byte);
                i += 5;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
