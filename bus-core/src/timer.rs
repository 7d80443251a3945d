//! Runtime-agnostic timeouts: sleeps run on the bus's own runtime and are
//! observed through a oneshot, so callers may await from any executor.
//!
//! Owns timing only.

use std::future::Future;
use std::time::Duration;

use actix::prelude::ArbiterHandle;
use futures::channel::oneshot;
use futures::future::{select, Either};

#[derive(Clone, Debug)]
pub(crate) struct Timer {
    arbiter: ArbiterHandle,
}

impl Timer {
    pub(crate) fn new(arbiter: ArbiterHandle) -> Self {
        Timer { arbiter }
    }

    /// Resolves after `d` (or at once if the bus is gone).
    pub(crate) fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send + 'static {
        let (tx, rx) = oneshot::channel::<()>();
        let spawned = self.arbiter.spawn(async move {
            actix_rt::time::sleep(d).await;
            let _ = tx.send(());
        });
        async move {
            if spawned {
                let _ = rx.await;
            }
        }
    }

    /// `fut`'s output, or `None` when `d` passes first.
    pub(crate) async fn timeout<F: Future + Unpin>(
        &self,
        d: Duration,
        fut: F,
    ) -> Option<F::Output> {
        let sleep = Box::pin(self.sleep(d));
        match select(fut, sleep).await {
            Either::Left((out, _)) => Some(out),
            Either::Right(((), _)) => None,
        }
    }
}
