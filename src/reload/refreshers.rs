//! The background refresh of each upstream's keys: one task per key cache, kept across reloads
//! for as long as a state still uses that cache.

use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::upstream::{JwksCache, Upstream, Upstreams};

/// The running refresh tasks, each with the cache it refreshes.
#[derive(Default)]
pub(crate) struct Refreshers {
    running: Vec<(Arc<JwksCache>, JoinHandle<()>)>,
}

/// The first fetch of each cache no task refreshes yet: whether it succeeded.
pub(crate) struct FirstFetches(Vec<(Arc<Upstream>, bool)>);

impl Refreshers {
    /// Fetches, all at once, the keys of every upstream whose cache is new (at start: all of
    /// them; after a reload: those whose fetch settings changed or that were added), so their
    /// tokens verify as soon as the state that holds them serves. A failure is logged and left to
    /// the background refresh.
    pub(crate) async fn fetch_new(&self, upstreams: &Upstreams) -> FirstFetches {
        let new: Vec<Arc<Upstream>> = upstreams
            .all()
            .iter()
            .filter(|upstream| !self.is_refreshing(&upstream.jwks))
            .cloned()
            .collect();
        let results =
            futures_util::future::join_all(new.iter().map(|upstream| upstream.jwks.refresh()))
                .await;
        FirstFetches(
            new.into_iter()
                .zip(results)
                .map(|(upstream, result)| {
                    let is_fresh = match result {
                        Ok(_) => true,
                        Err(err) => {
                            tracing::warn!(upstream = %upstream.config.name, error = %err, "the upstream's keys could not be fetched; retrying in the background");
                            false
                        }
                    };
                    (upstream, is_fresh)
                })
                .collect(),
        )
    }

    /// Makes the tasks match `upstreams`: stops those of caches it no longer uses and starts one
    /// for each cache `fetched` first.
    pub(crate) fn replace(&mut self, upstreams: &Upstreams, fetched: FirstFetches) {
        self.running.retain(|(cache, task)| {
            let is_used = upstreams
                .all()
                .iter()
                .any(|upstream| Arc::ptr_eq(&upstream.jwks, cache));
            if !is_used {
                task.abort();
            }
            is_used
        });
        for (upstream, is_fresh) in fetched.0 {
            let cache = upstream.jwks.clone();
            let task = tokio::spawn({
                let cache = cache.clone();
                async move { cache.refresh_forever(is_fresh).await }
            });
            self.running.push((cache, task));
        }
    }

    /// Stops every task.
    pub(crate) fn stop(&mut self) {
        for (_, task) in self.running.drain(..) {
            task.abort();
        }
    }

    fn is_refreshing(&self, cache: &Arc<JwksCache>) -> bool {
        self.running
            .iter()
            .any(|(running, _)| Arc::ptr_eq(running, cache))
    }
}
