//! Guards on real paths of this host: textual checks ([`ocpdr_core::paths`]) cannot see
//! symlinks, so every module that writes or deletes below `allowed_roots` on the host it runs on
//! resolves the paths and checks them again here.

use ocpdr_core::paths;
use std::path::{Path, PathBuf};

/// `realpath` of the deepest existing ancestor of `path`, with the missing rest appended, so
/// a path that does not exist yet still resolves to where it would be created.
pub fn resolve(path: &Path) -> PathBuf {
    let mut existing = path;
    let mut missing = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return missing.iter().rev().fold(real, |acc, part| acc.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_owned());
                existing = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// The allowed roots, each resolved with [`resolve`].
pub fn resolve_roots(roots: &[String]) -> Vec<PathBuf> {
    roots.iter().map(|root| resolve(Path::new(root))).collect()
}

/// Whether the resolved `path` lies below one of the resolved `roots`, component-wise; with
/// `strictly`, a root itself does not count.
pub fn within_roots(path: &Path, roots: &[PathBuf], strictly: bool) -> bool {
    roots.iter().any(|root| {
        let within = match (path.to_str(), root.to_str()) {
            (Some(path), Some(root)) => paths::is_within(path, root),
            _ => path.starts_with(root),
        };
        within && !(strictly && path == root)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn resolves_through_symlinks_and_missing_parts() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        symlink(&real, dir.path().join("link")).unwrap();
        let resolved = resolve(&dir.path().join("link/new/child"));
        assert_eq!(resolved, real.canonicalize().unwrap().join("new/child"));
        let roots = resolve_roots(&[real.display().to_string()]);
        assert!(within_roots(&resolved, &roots, true));
        assert!(within_roots(&roots[0], &roots, false));
        assert!(!within_roots(&roots[0], &roots, true));
        assert!(!within_roots(&dir.path().join("realx"), &roots, false));
    }
}
