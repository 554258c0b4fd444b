//! A stand-in Kubernetes API server for ocpdr's tests and local DR lab.
//!
//! No kube-apiserver can be installed where ocpdr is built and tested, and mock servers break
//! real clients, so this crate serves the Kubernetes REST API over real HTTP with the
//! semantics clients rely on: discovery (legacy and aggregated), get/list with selectors and
//! paging, watch with resume, bookmarks and 410 Expired, create/update/patch (merge,
//! strategic, JSON, server-side apply with field ownership), delete with finalizers, status
//! subresources, `Status` errors, bearer tokens; plus a few controllers (PV/PVC binding, VM →
//! VMI, VolumeSnapshot readiness, Velero restores of registered backup contents) and a
//! `/_fake/` control plane for fault injection and backup contents. It is checked with kubectl (1.32 and 1.20) and kube-rs. See README.md for
//! what it does not do: it is a stand-in, not Kubernetes.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use fake_apiserver::{Config, Server};
//! let server = Server::start("127.0.0.1:0".parse()?, Config::default()).await?;
//! std::fs::write("kubeconfig", server.kubeconfig())?;
//! // ... run kubectl or a kube::Client against server.url() ...
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod backup_contents;
mod config;
mod control;
mod controllers;
mod discovery;
mod http;
mod managed_fields;
mod openapi;
mod ops;
mod patch;
mod persist;
mod protobuf;
mod resources;
mod selectors;
mod server;
mod status;
mod store;
mod table;
mod tls;
mod watch;

pub use config::{CONTROLLER_NAMES, Config, Controllers, RESTORE_OUTCOMES};
pub use resources::{PrinterColumn, ResourceDef};
pub use server::{BlockingServer, Server, kubeconfig, write_private};
