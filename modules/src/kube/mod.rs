//! Talking to a Kubernetes API server, shared by every Kubernetes module of the collection.
//!
//! - [`connection`]: the kubernetes.core connection options and their `K8S_AUTH_*` fallbacks;
//! - [`cluster`]: a connected client with a timeout on every call and errors that explain
//!   themselves ([`errors`]);
//! - [`resources`]: which API resource an `apiVersion` + `kind` is, and whether it is namespaced;
//! - [`objects`]: checking and resolving the `resources` option of apply and delete;
//! - [`fetch`]: reading objects in bulk (a LIST where many objects of one kind are wanted);
//! - [`vms`]: selecting KubeVirt VMs and reading their status with their VMIs;
//! - [`wait`]: polling until objects reach a state, with a deadline.
//!
//! Each invocation runs on one single-threaded tokio runtime ([`block_on`]); requests whose
//! order does not matter run concurrently on it, at most [`CONCURRENCY`] at a time.

pub mod cluster;
pub mod connection;
pub mod errors;
pub mod fetch;
pub mod objects;
pub mod resources;
pub mod vms;
pub mod wait;

pub use cluster::Cluster;
pub use connection::Connection;
pub use errors::{KubeError, Op};
pub use resources::{Kind, Target};

use futures::{StreamExt, stream};
use std::future::Future;

/// The most requests in flight at once: enough to hide API latency, few enough not to trip the
/// API server's priority and fairness limits.
pub const CONCURRENCY: usize = 16;

/// Runs `future` to completion on a fresh single-threaded runtime: one per module invocation.
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime can be created")
        .block_on(future)
}

/// Runs `f` on every item, at most [`CONCURRENCY`] at a time; results in input order.
pub async fn concurrently<I, T, F, Fut>(items: I, f: F) -> Vec<T>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = T>,
{
    stream::iter(items)
        .map(f)
        .buffered(CONCURRENCY)
        .collect()
        .await
}
