//! `ocpdr.dr.resource_clean`: strip source-cluster state from Kubernetes objects.
//!
//! A pure transformation: it returns the cleaned objects and changes nothing anywhere, so
//! `changed` is always false and check mode behaves the same. The rules live in
//! [`ocpdr_core::clean`].

use ocpdr_core::clean::{self, AnnotationPolicy, ClaimRefPolicy, CleanOptions};
use ocpdr_core::object::ObjectRef;
use ocpdr_modules::{Context, Failure, Module, Outcome, object_diff};
use serde::Deserialize;
use serde_json::Value;
use std::process::ExitCode;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    resources: Vec<Value>,
    #[serde(default)]
    annotations: AnnotationPolicy,
    #[serde(default)]
    drop_annotation_prefixes: Vec<String>,
    #[serde(default)]
    keep_annotations: Vec<String>,
    #[serde(default)]
    claim_ref: ClaimRefPolicy,
}

struct ResourceClean;

impl Module for ResourceClean {
    type Options = Options;

    fn run(options: Options, ctx: &Context) -> Result<Outcome, Failure> {
        let clean_options = CleanOptions {
            annotations: options.annotations,
            drop_annotation_prefixes: options.drop_annotation_prefixes,
            keep_annotations: options.keep_annotations,
            claim_ref: options.claim_ref,
        };
        let mut resources = Vec::with_capacity(options.resources.len());
        let mut removed = Vec::with_capacity(options.resources.len());
        let mut diff = Vec::new();
        for (index, resource) in options.resources.iter().enumerate() {
            let (cleaned, what) = clean::clean(resource, &clean_options)
                .map_err(|err| Failure::new(format!("resources[{index}]: {err}")))?;
            if ctx.diff {
                diff.push(object_diff(
                    &ObjectRef::of(resource).to_string(),
                    resource,
                    &cleaned,
                ));
            }
            resources.push(cleaned);
            removed.push(what);
        }
        Ok(Outcome::new(false)
            .with("resources", resources)
            .with("removed", removed)
            .diff(Value::Array(diff)))
    }
}

fn main() -> ExitCode {
    ocpdr_modules::run::<ResourceClean>()
}
