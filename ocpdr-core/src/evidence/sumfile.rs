//! `sha256sum` check files (`manifest.sha256`, `SHA256SUMS`), so coreutils alone can verify a
//! run: `sha256sum -c SHA256SUMS`.
//!
//! Each line is `<64 hex>  <name>` (two spaces: text mode, as `sha256sum` prints it). Names are
//! plain file names ([`super::layout::is_plain_name`]), which never need the backslash escaping
//! `sha256sum` applies to names with newlines or backslashes.

/// One line per `(name, sha256)`, in the order given.
pub fn render<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    entries
        .into_iter()
        .map(|(name, sha256)| format!("{sha256}  {name}\n"))
        .collect()
}

/// Parses a check file into `(name, sha256)` pairs; `Err` names the first bad line (1-based).
/// Accepts text (`  `) and binary (` *`) mode lines, as `sha256sum -c` does.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, usize> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let bad = index + 1;
        if line.len() < 66 || !line.is_char_boundary(64) {
            return Err(bad);
        }
        let (sha256, rest) = line.split_at(64);
        if !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad);
        }
        let name = rest
            .strip_prefix("  ")
            .or_else(|| rest.strip_prefix(" *"))
            .filter(|name| !name.is_empty())
            .ok_or(bad)?;
        entries.push((name.to_owned(), sha256.to_ascii_lowercase()));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_parses_sha256sum_lines() {
        let a = "a".repeat(64);
        let text = render([("evidence.log", a.as_str()), ("pvcs.json", a.as_str())]);
        assert_eq!(text, format!("{a}  evidence.log\n{a}  pvcs.json\n"));
        assert_eq!(
            parse(&text).unwrap(),
            vec![
                ("evidence.log".into(), a.clone()),
                ("pvcs.json".into(), a.clone())
            ]
        );
        let upper = format!("{} *x.bin\n", "A".repeat(64));
        assert_eq!(parse(&upper).unwrap(), vec![("x.bin".into(), a.clone())]);
        assert_eq!(parse(&format!("{a}  ok\nnot a line\n")), Err(2));
        assert_eq!(parse(&format!("{}  x\n", "g".repeat(64))), Err(1));
        assert_eq!(parse(&format!("{a}  \n")), Err(1));
        assert_eq!(parse(""), Ok(vec![]));
    }
}
