//! Waiting for objects to reach a state: poll, back off, give up at a deadline and say what was
//! still pending.
//!
//! Polling (a LIST per kind and namespace through [`super::Cluster::fetch`]) rather than one
//! watch per object keeps the request count flat however many objects are waited for, and
//! needs nothing from the API server beyond GET and LIST.

use super::errors::KubeError;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// First pause between two polls; it grows by half each time up to [`MAX_INTERVAL`].
const FIRST_INTERVAL: Duration = Duration::from_millis(200);
/// Longest pause between two polls.
const MAX_INTERVAL: Duration = Duration::from_secs(2);

/// What one poll found.
pub enum Progress<T> {
    /// Everything is as wanted; the value is the final state.
    Done(T),
    /// Not yet; the value is the state so far, returned if the deadline passes.
    Pending(T),
}

/// Calls `probe` until it reports [`Progress::Done`] (`Ok(Ok(state))`) or `timeout` has passed
/// (`Ok(Err(last pending state))`). The first probe runs at once; a probe error ends the wait.
pub async fn poll<T, F, Fut>(timeout: Duration, mut probe: F) -> Result<Result<T, T>, KubeError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Progress<T>, KubeError>>,
{
    let deadline = Instant::now() + timeout;
    let mut interval = FIRST_INTERVAL;
    loop {
        match probe().await? {
            Progress::Done(state) => return Ok(Ok(state)),
            Progress::Pending(state) => {
                let now = Instant::now();
                if now >= deadline {
                    return Ok(Err(state));
                }
                tokio::time::sleep(interval.min(deadline - now)).await;
                interval = (interval * 3 / 2).min(MAX_INTERVAL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_when_done_or_the_last_state_at_the_deadline() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let mut calls = 0;
        let done = rt.block_on(poll(Duration::from_secs(60), || {
            calls += 1;
            let n = calls;
            async move {
                Ok(if n == 3 {
                    Progress::Done(n)
                } else {
                    Progress::Pending(n)
                })
            }
        }));
        assert_eq!(done.unwrap(), Ok(3));
        let gave_up = rt.block_on(poll(Duration::from_secs(5), || async {
            Ok(Progress::Pending("still"))
        }));
        assert_eq!(gave_up.unwrap(), Err("still"));
        let once = rt.block_on(poll(Duration::ZERO, || async { Ok(Progress::Pending(1)) }));
        assert_eq!(once.unwrap(), Err(1));
    }
}
