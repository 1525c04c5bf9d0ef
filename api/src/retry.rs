//! Retrying the command line's work when it fails for a moment (a SQLite file busy with a
//! running server, a dropped connection).

use std::future::Future;
use std::time::Duration;

/// Runs `work` again, up to five more times with a growing pause, while it fails with an
/// internal error; any other answer is returned as it is.
pub async fn patiently<T, F: Future<Output = latchkey_core::Result<T>>>(
    mut work: impl FnMut() -> F,
) -> latchkey_core::Result<T> {
    let mut failures = 0;
    loop {
        match work().await {
            Err(latchkey_core::Error::Internal(_)) if failures < 5 => {
                failures += 1;
                tokio::time::sleep(Duration::from_millis(200 * failures)).await;
            }
            other => return other,
        }
    }
}
