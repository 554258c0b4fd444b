//! Build script: gives the modules the collection's version from `collection/galaxy.yml` as
//! `OCPDR_COLLECTION_VERSION`, so what a module records (e.g. the evidence `script_version`)
//! names the release that ran, and one file stays the single place the version is set.

fn main() {
    let path = "../collection/galaxy.yml";
    println!("cargo:rerun-if-changed={path}");
    let text = std::fs::read_to_string(path).expect("collection/galaxy.yml is readable");
    let version = text
        .lines()
        .find_map(|line| line.strip_prefix("version:"))
        .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\''))
        .filter(|v| !v.is_empty())
        .expect("collection/galaxy.yml has a `version:` line");
    println!("cargo:rustc-env=OCPDR_COLLECTION_VERSION={version}");
}
