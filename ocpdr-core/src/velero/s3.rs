//! The S3 edge: list the backups of a BackupStorageLocation bucket and stream one tarball into
//! [`read_backup`](super::read_backup), without a temporary file.
//!
//! Works with AWS S3 and S3-compatible stores (MinIO, ODF/NooBaa, Ceph RGW): endpoint URL,
//! region, path-style addressing and an extra CA bundle are options. Credentials come from the
//! options (access key + secret key) or, when none are given, from the standard AWS chain
//! (environment, shared config/credentials profile, web identity, container/instance metadata).
//! Built on aws-sdk-s3 with the hyper 1 / rustls / aws-lc-rs stack only, so exactly one rustls
//! CryptoProvider is compiled in. The calls are async; [`BackupStore`] owns a current-thread
//! tokio runtime and offers a blocking API, because the archive reader is a plain [`Read`].

use super::backup_cr::BackupInfo;
use super::error::Error as VeleroError;
use super::reader::{BackupContents, ReadOptions, read_backup};
use super::select::Listed;
use aws_config::BehaviorVersion;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, Read};
use std::path::PathBuf;
use tokio::runtime::Runtime;

/// Where the backups are and how to reach them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Location {
    /// Bucket name (no slashes).
    pub bucket: String,
    /// BackupStorageLocation prefix (`velero` in OADP's samples); may be empty.
    pub prefix: String,
    /// Region; when `None`, `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: Option<String>,
    /// Endpoint of an S3-compatible store, e.g. `https://s3.openshift-storage.svc`.
    pub endpoint_url: Option<String>,
    /// Path-style addressing (`https://host/bucket/key`), which most on-premise stores need.
    pub force_path_style: bool,
    /// PEM file of CA certificates to trust besides the system ones.
    pub ca_bundle: Option<PathBuf>,
    /// Access key id; with `secret_key`, replaces the standard credential chain.
    pub access_key: Option<String>,
    /// Secret access key. Never printed, not even by `Debug`.
    pub secret_key: Option<String>,
}

impl fmt::Debug for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Location")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("force_path_style", &self.force_path_style)
            .field("ca_bundle", &self.ca_bundle)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "********"))
            .finish()
    }
}

/// Why talking to the bucket failed. Messages name the bucket, key and endpoint, never a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Invalid options.
    #[error("invalid S3 settings: {0}")]
    Settings(String),
    /// The CA bundle cannot be read.
    #[error("cannot read the CA bundle {path:?}: {source}")]
    CaBundle {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The async runtime could not start.
    #[error("cannot start the S3 client runtime: {0}")]
    Runtime(#[source] io::Error),
    /// An S3 request failed.
    #[error("S3 {operation} of s3://{bucket}/{key} at {endpoint} failed: {message}")]
    Request {
        /// The S3 operation (`ListObjectsV2`, `GetObject`).
        operation: &'static str,
        /// Bucket.
        bucket: String,
        /// Key or prefix.
        key: String,
        /// Endpoint used (`AWS S3` when the default).
        endpoint: String,
        /// The service's error code and message, or the transport failure.
        message: String,
    },
    /// The backup was found but could not be read or chosen.
    #[error(transparent)]
    Backup(#[from] VeleroError),
}

/// An error and its causes, `outer: inner: innermost`, each said once.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// A connected BackupStorageLocation bucket.
pub struct BackupStore {
    runtime: Runtime,
    client: aws_sdk_s3::Client,
    location: S3Location,
    root: String,
}

/// Bucket key of the Backup CR of `name` under `root` (the normalised prefix).
fn metadata_key(root: &str, name: &str) -> String {
    format!("{root}backups/{name}/velero-backup.json")
}

/// Bucket key of the tarball of `name` under `root`.
fn tarball_key(root: &str, name: &str) -> String {
    format!("{root}backups/{name}/{name}.tar.gz")
}

impl BackupStore {
    /// Builds the client. Nothing is sent until the first request.
    pub fn connect(location: &S3Location) -> Result<Self, Error> {
        if location.bucket.is_empty() || location.bucket.contains('/') {
            return Err(Error::Settings(format!(
                "bucket {:?} must be a bucket name without '/' (put a path in prefix)",
                location.bucket
            )));
        }
        let explicit = match (&location.access_key, &location.secret_key) {
            (Some(a), Some(s)) if !a.is_empty() && !s.is_empty() => {
                Some(Credentials::new(a, s, None, None, "ocpdr-options"))
            }
            (None, None) => None,
            (Some(a), Some(s)) if a.is_empty() && s.is_empty() => None,
            _ => {
                return Err(Error::Settings(
                    "give both access_key and secret_key, or neither (to use the AWS environment/profile chain)".to_owned(),
                ));
            }
        };
        let region = location
            .region
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
            .or_else(|| {
                std::env::var("AWS_DEFAULT_REGION")
                    .ok()
                    .filter(|r| !r.is_empty())
            })
            .unwrap_or_else(|| "us-east-1".to_owned());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region));
        if let Some(credentials) = explicit {
            loader = loader.credentials_provider(credentials);
        }
        if let Some(path) = &location.ca_bundle {
            let pem = std::fs::read(path).map_err(|source| Error::CaBundle {
                path: path.clone(),
                source,
            })?;
            let trust = TrustStore::default().with_pem_certificate(pem);
            let context = TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .map_err(|e| Error::Settings(format!("CA bundle {path:?}: {e}")))?;
            let http = aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(context)
                .build_https();
            loader = loader.http_client(http);
        }
        let shared = runtime.block_on(loader.load());
        let mut config =
            aws_sdk_s3::config::Builder::from(&shared).force_path_style(location.force_path_style);
        if let Some(url) = location.endpoint_url.as_ref().filter(|u| !u.is_empty()) {
            config = config.endpoint_url(url);
        }
        let prefix = location.prefix.trim_matches('/');
        Ok(BackupStore {
            runtime,
            client: aws_sdk_s3::Client::from_conf(config.build()),
            location: location.clone(),
            root: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }

    fn request_error<E>(
        &self,
        operation: &'static str,
        key: &str,
        err: &aws_sdk_s3::error::SdkError<E>,
    ) -> Error
    where
        E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    {
        let message = match (err.code(), err.message()) {
            (Some(code), Some(msg)) => format!("{code}: {msg}"),
            (Some(code), None) => code.to_owned(),
            _ => causes(err),
        };
        Error::Request {
            operation,
            bucket: self.location.bucket.clone(),
            key: key.to_owned(),
            endpoint: self
                .location
                .endpoint_url
                .clone()
                .unwrap_or_else(|| "AWS S3".to_owned()),
            message,
        }
    }

    /// Every backup under `<prefix>/backups/`: its Backup CR (or why it is unreadable) and
    /// whether its tarball exists. Unknown files and prefixes are ignored.
    pub fn list(&self) -> Result<Vec<Listed>, Error> {
        let listing_prefix = format!("{}backups/", self.root);
        let mut metadata = BTreeSet::new();
        let mut tarballs = BTreeSet::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.location.bucket)
            .prefix(&listing_prefix)
            .into_paginator()
            .send();
        while let Some(page) = self.runtime.block_on(pages.next()) {
            let page =
                page.map_err(|e| self.request_error("ListObjectsV2", &listing_prefix, &e))?;
            for object in page.contents() {
                let Some(rest) = object.key().and_then(|k| k.strip_prefix(&listing_prefix)) else {
                    continue;
                };
                let Some((name, file)) = rest.split_once('/') else {
                    continue;
                };
                if file == "velero-backup.json" {
                    metadata.insert(name.to_owned());
                } else if file == format!("{name}.tar.gz") {
                    tarballs.insert(name.to_owned());
                }
            }
        }
        let mut infos = BTreeMap::new();
        for name in &metadata {
            let key = metadata_key(&self.root, name);
            let info = match self.get_bytes(&key) {
                Ok(bytes) => BackupInfo::parse(&bytes, &key).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            infos.insert(name.clone(), info);
        }
        Ok(infos
            .into_iter()
            .map(|(name, info)| Listed {
                has_tarball: tarballs.contains(&name),
                name,
                info,
            })
            .collect())
    }

    fn get_bytes(&self, key: &str) -> Result<Vec<u8>, Error> {
        let response = self
            .runtime
            .block_on(
                self.client
                    .get_object()
                    .bucket(&self.location.bucket)
                    .key(key)
                    .send(),
            )
            .map_err(|e| self.request_error("GetObject", key, &e))?;
        let body = self
            .runtime
            .block_on(response.body.collect())
            .map_err(|e| Error::Request {
                operation: "GetObject",
                bucket: self.location.bucket.clone(),
                key: key.to_owned(),
                endpoint: self
                    .location
                    .endpoint_url
                    .clone()
                    .unwrap_or_else(|| "AWS S3".to_owned()),
                message: causes(&e),
            })?;
        Ok(body.into_bytes().to_vec())
    }

    /// Streams `<name>.tar.gz` through [`read_backup`].
    pub fn read_tarball(&self, name: &str, options: &ReadOptions) -> Result<BackupContents, Error> {
        let key = tarball_key(&self.root, name);
        let response = self
            .runtime
            .block_on(
                self.client
                    .get_object()
                    .bucket(&self.location.bucket)
                    .key(&key)
                    .send(),
            )
            .map_err(|e| self.request_error("GetObject", &key, &e))?;
        let body = BlockingBody {
            runtime: &self.runtime,
            body: response.body,
            chunk: Vec::new(),
            pos: 0,
        };
        Ok(read_backup(body, options)?)
    }
}

/// The response body as a blocking [`Read`], one network chunk at a time.
struct BlockingBody<'a> {
    runtime: &'a Runtime,
    body: ByteStream,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for BlockingBody<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.runtime.block_on(self.body.try_next()) {
                Ok(Some(bytes)) => {
                    self.chunk.clear();
                    self.chunk.extend_from_slice(&bytes);
                    self.pos = 0;
                }
                Ok(None) => return Ok(0),
                Err(e) => return Err(io::Error::other(causes(&e))),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
