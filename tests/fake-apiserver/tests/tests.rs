//! The fake API server checked with real clients nobody here wrote: kube-rs (typed and
//! dynamic APIs, server-side apply, paging, the watcher through 410s and cut connections), raw
//! requests for the status codes of error cases, Velero restores of registered backup contents,
//! and the `fake-apiserver` binary itself.
//! kubectl (1.32 and 1.20) is exercised by `tests/fake_apiserver/` in pytest.

mod cli;
mod kube_rs;
mod restores;
mod status_codes;
mod util;
