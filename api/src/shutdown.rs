//! Graceful shutdown behind a load balancer. On SIGTERM (or SIGINT) a replica first drains:
//! for `LATCHKEY_SHUTDOWN_DRAIN_MS` it keeps serving while `/readyz` answers 503 `draining`
//! and every response closes its connection, so the load balancer's health checks take it
//! out of rotation and no client keeps a connection to it. Only then does it stop accepting
//! and let the requests in flight finish.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Whether this replica is shutting down; shared by the server and the handlers that report
/// readiness.
#[derive(Clone, Debug, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Returns when the process is asked to stop (SIGTERM from an orchestrator, SIGINT from a
/// terminal).
pub async fn stop_requested() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    Ok(())
}

/// Reports the replica as draining and waits out `drain` while it keeps serving.
pub async fn drain(draining: &Draining, drain: Duration) {
    draining.start();
    tracing::info!(
        drain_ms = drain.as_millis() as u64,
        "stop requested: draining, then closing the listener"
    );
    tokio::time::sleep(drain).await;
}
