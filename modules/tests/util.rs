//! Harness for running module binaries the way ansible-core does: `<module> <args file>`.

use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// The result of one module run: the single JSON object it printed and its exit status.
pub struct Run {
    pub json: Value,
    pub code: i32,
}

impl Run {
    /// The `msg` of a failed run.
    pub fn msg(&self) -> &str {
        self.json["msg"].as_str().unwrap_or_default()
    }

    /// Asserts the run failed as a module must: `failed: true`, exit status 1.
    pub fn assert_failed(&self) -> &Self {
        assert_eq!(self.json["failed"], true, "{}", self.json);
        assert_eq!(self.json["changed"], false, "{}", self.json);
        assert_eq!(self.code, 1, "{}", self.json);
        self
    }

    /// Asserts the run failed after changing part of the system: `failed: true`,
    /// `changed: true`, exit status 1.
    pub fn assert_failed_after_changes(&self) -> &Self {
        assert_eq!(self.json["failed"], true, "{}", self.json);
        assert_eq!(self.json["changed"], true, "{}", self.json);
        assert_eq!(self.code, 1, "{}", self.json);
        self
    }

    /// Asserts the run succeeded.
    pub fn assert_ok(&self) -> &Self {
        assert!(self.json.get("failed").is_none(), "{}", self.json);
        assert_eq!(self.code, 0, "{}", self.json);
        self
    }
}

/// The path of the binary that runs module `name`: its own, or the shared `ocpdr_k8s` of the
/// Kubernetes modules (run under the module's name, as through the collection's symlinks).
pub fn module_path(name: &str) -> PathBuf {
    if ocpdr_modules::kube_modules::MODULES
        .iter()
        .any(|m| m.name == name)
    {
        return PathBuf::from(env!("CARGO_BIN_EXE_ocpdr_k8s"));
    }
    // Cargo builds every binary of the package before its integration tests; all land in one
    // directory, so one known binary locates the others.
    Path::new(env!("CARGO_BIN_EXE_pv_retarget")).with_file_name(name)
}

/// Runs module `name` with `args` written to an args file (controller keys included as given).
pub fn run(name: &str, args: &Value) -> Run {
    run_with_env(name, args, &[])
}

/// Like [`run`], with extra environment variables (ansible-playbook's `environment:`).
pub fn run_with_env(name: &str, args: &Value, env: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("args");
    std::fs::write(&path, args.to_string()).expect("write args");
    run_command(name, &path, env)
}

/// Runs module `name` on an args file that already exists (or deliberately does not).
pub fn run_with_file(name: &str, path: &Path) -> Run {
    run_command(name, path, &[])
}

fn run_command(name: &str, path: &Path, env: &[(&str, &str)]) -> Run {
    let out = std::process::Command::new(module_path(name))
        .arg0(name)
        .arg(path)
        .envs(env.iter().copied())
        .output()
        .expect("module runs");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line of output, got: {stdout}");
    let json: Value = serde_json::from_str(lines[0]).expect("output is one JSON object");
    assert!(json.is_object(), "{json}");
    assert!(json.get("changed").is_some(), "always says changed: {json}");
    Run {
        json,
        code: out.status.code().expect("exited"),
    }
}

/// A fixture from `ocpdr-core/tests/fixtures`, parsed.
pub fn fixture(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ocpdr-core/tests/fixtures")
        .join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}
