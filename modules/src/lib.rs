//! The Ansible binary-module protocol, written once for every module of the `ocpdr.dr`
//! collection.
//!
//! ansible-core runs a binary module as `<module> <args file>`: the file holds one JSON object
//! with the options the user wrote (no defaults applied, nothing validated) plus the
//! controller's `_ansible_*` keys. The module must print exactly one JSON object; ansible-core
//! ignores the exit status once that JSON parses, so a failure must say `"failed": true`. Nothing
//! masks secrets or enforces check mode for us. [`run`] does all of that:
//!
//! - splits off the `_ansible_*` keys into a [`Context`] (check mode, diff mode, verbosity);
//! - deserializes the rest into the module's typed options, which reject unknown keys (the
//!   message lists the valid ones) and name the field and the expected type on a type error;
//! - prints one JSON object with `changed`, and on any error `failed: true` and a `msg`, exit
//!   status 1; a panic is caught and reported the same way;
//! - replaces the value of every option the module declares secret with `********` wherever it
//!   would appear in the output.
//!
//! Running a module by hand, `<module> args.json`, behaves exactly the same way.

pub mod exec;
pub mod kube;
pub mod kube_modules;
pub mod quarantine_fs;
pub mod realpath;
pub mod rsync_run;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;

/// What replaces a secret value in any output (the same mask the evidence redacts with).
pub use ocpdr_core::evidence::redact::MASK;

/// The collection these modules ship in.
pub const COLLECTION: &str = "ocpdr.dr";

/// The collection's version, read from `collection/galaxy.yml` at build time.
pub const COLLECTION_VERSION: &str = env!("OCPDR_COLLECTION_VERSION");

/// The controller's view of this invocation, from the `_ansible_*` keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// `--check` or `check_mode: true`: change nothing, report what would change.
    pub check_mode: bool,
    /// `--diff` or `diff: true`: include a `diff` in the result.
    pub diff: bool,
    /// The number of `-v` given to ansible-playbook.
    pub verbosity: u64,
}

impl Context {
    fn from_controller_keys(keys: &Map<String, Value>) -> Self {
        let flag = |key: &str| keys.get(key).and_then(Value::as_bool).unwrap_or(false);
        Context {
            check_mode: flag("_ansible_check_mode"),
            diff: flag("_ansible_diff"),
            verbosity: keys
                .get("_ansible_verbosity")
                .and_then(Value::as_u64)
                .unwrap_or(0),
        }
    }
}

/// A module: typed options in, an [`Outcome`] or a [`Failure`] out.
pub trait Module {
    /// The module's options; use `#[serde(deny_unknown_fields)]` so typos are rejected.
    type Options: DeserializeOwned;

    /// JSON pointers (e.g. `/api_key`, `/source/s3/secret_key`) of options whose values must
    /// never appear in the output.
    const SECRETS: &'static [&'static str] = &[];

    /// Does the work. Must not change anything when `ctx.check_mode` is set.
    fn run(options: Self::Options, ctx: &Context) -> Result<Outcome, Failure>;
}

/// A successful result: `changed` plus the module's return values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    changed: bool,
    values: Map<String, Value>,
    warnings: Vec<String>,
    diff: Option<Value>,
}

impl Outcome {
    /// A result that did (`true`) or did not (`false`) change the system.
    pub fn new(changed: bool) -> Self {
        Outcome {
            changed,
            ..Default::default()
        }
    }

    /// Adds a return value. Serializing plain data cannot fail; a value that cannot be
    /// represented in JSON becomes `null`.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        self.values.insert(
            key.to_owned(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    /// Adds a warning that ansible-playbook prints as `[WARNING]: ...`.
    #[must_use]
    pub fn warn(mut self, warning: impl Into<String>) -> Self {
        self.warnings.push(warning.into());
        self
    }

    /// Sets the `diff` (one `{before, after, before_header, after_header}` or a list of them).
    /// Only emitted when the controller asked for diff mode.
    #[must_use]
    pub fn diff(mut self, diff: Value) -> Self {
        self.diff = Some(diff);
        self
    }
}

/// One entry of a `diff` result for an object rewritten in memory: pretty JSON before and after,
/// headed by the object's identity, as ansible-playbook prints file diffs.
pub fn object_diff(header: &str, before: &Value, after: &Value) -> Value {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    serde_json::json!({
        "before_header": format!("{header} (source)"),
        "after_header": format!("{header} (for DR)"),
        "before": pretty(before),
        "after": pretty(after),
    })
}

/// One entry of a `diff` result for an object on a cluster: pretty JSON before and after a
/// change, empty on the side where the object does not exist (created or deleted).
pub fn state_diff(header: &str, before: Option<&Value>, after: Option<&Value>) -> Value {
    let pretty = |v: Option<&Value>| {
        v.map(|v| serde_json::to_string_pretty(v).unwrap_or_default() + "\n")
            .unwrap_or_default()
    };
    serde_json::json!({
        "before_header": format!("{header} (before)"),
        "after_header": format!("{header} (after)"),
        "before": pretty(before),
        "after": pretty(after),
    })
}

/// A failed result: a message a person can act on, plus any values worth returning anyway
/// (e.g. the volumes that did sync when others failed). `changed` is `false` unless the
/// module sets it with `.with("changed", true)` because part of the work was done.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    msg: String,
    values: Map<String, Value>,
}

impl Failure {
    /// A failure with this message.
    pub fn new(msg: impl Into<String>) -> Self {
        Failure {
            msg: msg.into(),
            values: Map::new(),
        }
    }

    /// Adds a return value to the failed result.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        self.values.insert(
            key.to_owned(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    /// The message.
    pub fn msg(&self) -> &str {
        &self.msg
    }
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Failure::new(format!("{err:#}"))
    }
}

/// Runs module `M` on the args file named by `argv[1]` and prints its one JSON result.
///
/// Use as the whole `main` of a module binary:
/// `fn main() -> ExitCode { ocpdr_modules::run::<MyModule>() }`.
pub fn run<M: Module>() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (result, exit) = invoke::<M>(&args);
    println!("{result}");
    exit
}

/// One module of a binary that holds several, for [`run_multi`].
pub struct Named {
    /// The module's name, as Ansible knows it (`k8s_apply`).
    pub name: &'static str,
    invoke: fn(&[String]) -> (Value, ExitCode),
}

impl Named {
    /// Module `M` under `name`.
    pub const fn of<M: Module>(name: &'static str) -> Named {
        Named {
            name,
            invoke: invoke::<M>,
        }
    }
}

/// The prefix ansible-core gives a module file it copies to the target (`AnsiballZ_k8s_apply`).
const ANSIBALLZ: &str = "AnsiballZ_";

/// Runs, of `modules`, the one this binary was invoked as, and prints its one JSON result.
///
/// The name comes from the program's file name, which is the module's name when Ansible runs it
/// (it copies the file as `AnsiballZ_<module>`) and when a person runs a symlink named after the
/// module; failing that, from the `_ansible_module_name` Ansible writes into the args file.
/// `<binary> --list-modules` prints the names, one per line (the collection build uses it to
/// create the symlinks).
pub fn run_multi(modules: &[Named]) -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--list-modules") {
        for module in modules {
            println!("{}", module.name);
        }
        return ExitCode::SUCCESS;
    }
    let (result, exit) = match pick(modules, &args) {
        Some(module) => (module.invoke)(&args),
        None => {
            let names: Vec<&str> = modules.iter().map(|m| m.name).collect();
            let program = args.first().map_or("this program", String::as_str);
            let result = serde_json::json!({
                "changed": false,
                "failed": true,
                "msg": format!(
                    "{program} holds the modules {} and runs the one it is invoked as; run it \
                     through a symlink named after the module (e.g. `ln -s {program} {}`)",
                    names.join(", "),
                    names.first().copied().unwrap_or_default()
                ),
            });
            (result, ExitCode::FAILURE)
        }
    };
    println!("{result}");
    exit
}

/// The module `args` name: by the program's file name, else by `_ansible_module_name`.
fn pick<'a>(modules: &'a [Named], args: &[String]) -> Option<&'a Named> {
    let by_name = |name: &str| modules.iter().find(|m| m.name == name);
    let program = args
        .first()
        .and_then(|p| std::path::Path::new(p).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    by_name(program.strip_prefix(ANSIBALLZ).unwrap_or(program)).or_else(|| {
        let text = std::fs::read_to_string(args.get(1)?).ok()?;
        let value: Value = serde_json::from_str(&text).ok()?;
        let fqcn = value.get("_ansible_module_name")?.as_str()?;
        by_name(fqcn.rsplit('.').next().unwrap_or(fqcn))
    })
}

/// The whole protocol minus the printing: returns the JSON line and the exit status.
fn invoke<M: Module>(args: &[String]) -> (Value, ExitCode) {
    let mut secrets = Vec::new();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        let (ctx, options) = load_args(args, M::SECRETS, &mut secrets)?;
        let options: M::Options = parse_options(options)?;
        M::run(options, &ctx).map(|outcome| (ctx, outcome))
    }));
    // The default panic hook still prints the location to stderr, for `-vvv` debugging.
    let outcome = outcome.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(Failure::new(format!(
            "internal error in the module (please report it): {what}"
        )))
    });

    let (mut result, exit) = match outcome {
        Ok((ctx, outcome)) => (success_json(outcome, &ctx), ExitCode::SUCCESS),
        Err(failure) => {
            let mut result = failure.values;
            // A failure may have changed part of the system (e.g. 9 of 10 volumes synced);
            // the module says so with `.with("changed", true)`, else nothing changed.
            result.entry("changed").or_insert(Value::Bool(false));
            result.insert("failed".into(), Value::Bool(true));
            result.insert("msg".into(), Value::String(failure.msg));
            (Value::Object(result), ExitCode::FAILURE)
        }
    };
    mask_secrets(&mut result, &secrets);
    (result, exit)
}

fn success_json(outcome: Outcome, ctx: &Context) -> Value {
    let mut result = Map::new();
    result.insert("changed".into(), Value::Bool(outcome.changed));
    for (key, value) in outcome.values {
        result.insert(key, value);
    }
    if !outcome.warnings.is_empty() {
        result.insert("warnings".into(), outcome.warnings.into());
    }
    if ctx.diff
        && let Some(diff) = outcome.diff
    {
        result.insert("diff".into(), diff);
    }
    Value::Object(result)
}

/// Reads the args file, collects secret values, and splits off the controller's keys.
fn load_args(
    args: &[String],
    secret_pointers: &[&str],
    secrets: &mut Vec<String>,
) -> Result<(Context, Value), Failure> {
    let program = args.first().map_or("module", String::as_str);
    let [_, path] = args else {
        return Err(Failure::new(format!(
            "usage: {program} ARGS_FILE, where ARGS_FILE holds the module options as one JSON object \
             (ansible-playbook writes it; to debug, write one by hand)"
        )));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|err| Failure::new(format!("cannot read the arguments file {path}: {err}")))?;
    if text.trim().is_empty() {
        return Err(Failure::new(format!(
            "the arguments file {path} is empty: expected a JSON object of module options"
        )));
    }
    let value: Value = serde_json::from_str(&text).map_err(|err| {
        Failure::new(format!(
            "the arguments file {path} is not valid JSON ({err}): expected a JSON object of module options"
        ))
    })?;
    let Value::Object(mut map) = value else {
        return Err(Failure::new(format!(
            "the arguments file {path} holds {}, expected a JSON object of module options",
            ocpdr_json_type(&value)
        )));
    };
    // Collect secrets first, so that even an error about them cannot echo them.
    let whole = Value::Object(map.clone());
    for pointer in secret_pointers {
        if let Some(Value::String(secret)) = whole.pointer(pointer)
            && !secret.is_empty()
        {
            secrets.push(secret.clone());
        }
    }
    let controller: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| k.starts_with("_ansible_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    map.retain(|k, _| !k.starts_with("_ansible_"));
    Ok((
        Context::from_controller_keys(&controller),
        Value::Object(map),
    ))
}

/// Deserializes the options, naming the offending option on error.
fn parse_options<T: DeserializeOwned>(options: Value) -> Result<T, Failure> {
    serde_path_to_error::deserialize(options).map_err(|err| {
        let mut path = err.path().to_string();
        let inner = err.into_inner().to_string();
        // serde_path_to_error puts an unknown key into the path; name its parent instead.
        if inner.starts_with("unknown field") {
            path = path.rfind('.').map_or(".", |dot| &path[..dot]).to_owned();
        }
        let msg = if path == "." {
            format!("invalid options: {inner}")
        } else {
            format!("invalid value for option `{path}`: {inner}")
        };
        Failure::new(msg)
    })
}

fn ocpdr_json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Replaces every occurrence of every secret in every string of `value`.
fn mask_secrets(value: &mut Value, secrets: &[String]) {
    if secrets.is_empty() {
        return;
    }
    match value {
        Value::String(s) => {
            for secret in secrets {
                if s.contains(secret.as_str()) {
                    *s = s.replace(secret.as_str(), MASK);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| mask_secrets(v, secrets)),
        Value::Object(map) => map.values_mut().for_each(|v| mask_secrets(v, secrets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Opts {
        name: String,
        #[serde(default)]
        count: u32,
        #[serde(default)]
        token: String,
    }

    struct Echo;
    impl Module for Echo {
        type Options = Opts;
        const SECRETS: &'static [&'static str] = &["/token"];
        fn run(o: Opts, ctx: &Context) -> Result<Outcome, Failure> {
            if o.name == "boom" {
                panic!("kaboom");
            }
            if o.name == "fail" {
                return Err(
                    Failure::new(format!("token {} rejected", o.token)).with("count", o.count)
                );
            }
            if o.name == "partial" {
                return Err(Failure::new("half done").with("changed", true));
            }
            Ok(Outcome::new(!ctx.check_mode)
                .with("name", &o.name)
                .with("echo", format!("{}:{}", o.name, o.token))
                .diff(json!({"before": "a", "after": "b"})))
        }
    }

    fn call(args: Value) -> (Value, ExitCode) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("args");
        std::fs::write(&path, args.to_string()).unwrap();
        invoke::<Echo>(&["echo".into(), path.display().to_string()])
    }

    #[test]
    fn controller_keys_are_split_off_and_honoured() {
        let (out, code) = call(
            json!({"name": "x", "_ansible_check_mode": true, "_ansible_diff": true,
                                      "_ansible_verbosity": 3, "_ansible_version": "2.19.14"}),
        );
        assert_eq!(code, ExitCode::SUCCESS);
        assert_eq!(out["changed"], false);
        assert_eq!(out["diff"], json!({"before": "a", "after": "b"}));
        let (out, _) = call(json!({"name": "x"}));
        assert_eq!(out["changed"], true);
        assert!(out.get("diff").is_none());
    }

    #[test]
    fn option_errors_name_the_option() {
        let (out, code) = call(json!({"name": "x", "bogus": 1}));
        assert_eq!(code, ExitCode::FAILURE);
        assert_eq!(out["failed"], true);
        assert_eq!(
            out["msg"],
            "invalid options: unknown field `bogus`, expected one of `name`, `count`, `token`"
        );
        let (out, _) = call(json!({"name": "x", "count": "three"}));
        assert_eq!(
            out["msg"],
            "invalid value for option `count`: invalid type: string \"three\", expected u32"
        );
        let (out, _) = call(json!({}));
        assert_eq!(out["msg"], "invalid options: missing field `name`");
    }

    #[test]
    fn secrets_never_leave_the_module() {
        let (out, _) = call(json!({"name": "fail", "token": "s3cr3t", "count": 2}));
        assert_eq!(out["msg"], "token ******** rejected");
        assert_eq!(out["count"], 2);
        let (out, _) = call(json!({"name": "x", "token": "s3cr3t"}));
        assert_eq!(out["echo"], "x:********");
        assert!(!out.to_string().contains("s3cr3t"));
    }

    #[test]
    fn a_multi_module_binary_runs_the_module_it_is_invoked_as() {
        struct Other;
        impl Module for Other {
            type Options = Value;
            fn run(_: Value, _: &Context) -> Result<Outcome, Failure> {
                Ok(Outcome::new(false))
            }
        }
        let modules = [Named::of::<Echo>("echo"), Named::of::<Other>("other")];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("args");
        let name = |argv0: &str, args: Value| {
            std::fs::write(&path, args.to_string()).unwrap();
            pick(&modules, &[argv0.to_owned(), path.display().to_string()]).map(|m| m.name)
        };
        let tmp = "/root/.ansible/tmp/ansible-tmp-1/";
        assert_eq!(
            name(&format!("{tmp}AnsiballZ_other"), json!({})),
            Some("other")
        );
        assert_eq!(name("./echo", json!({})), Some("echo"));
        assert_eq!(
            name(
                "ocpdr_k8s",
                json!({"_ansible_module_name": "ocpdr.dr.other"})
            ),
            Some("other")
        );
        assert_eq!(
            name("ocpdr_k8s", json!({"_ansible_module_name": "echo"})),
            Some("echo")
        );
        assert_eq!(
            name("ocpdr_k8s", json!({"_ansible_module_name": "x.y.nope"})),
            None
        );
        assert_eq!(
            pick(&modules, &["ocpdr_k8s".to_owned()]).map(|m| m.name),
            None
        );
    }

    #[test]
    fn a_failure_may_say_it_changed_something() {
        let (out, code) = call(json!({"name": "partial"}));
        assert_eq!(code, ExitCode::FAILURE);
        assert_eq!(
            (&out["failed"], &out["changed"]),
            (&json!(true), &json!(true))
        );
        let (out, _) = call(json!({"name": "fail"}));
        assert_eq!(out["changed"], false);
    }

    #[test]
    fn a_panic_is_a_failed_result() {
        let (out, code) = call(json!({"name": "boom"}));
        assert_eq!(code, ExitCode::FAILURE);
        assert_eq!(out["failed"], true);
        assert!(out["msg"].as_str().unwrap().contains("kaboom"), "{out}");
    }
}
