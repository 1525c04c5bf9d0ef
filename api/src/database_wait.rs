//! Start-up waits for PostgreSQL: a database that is not up yet (a pod that starts before its
//! database, a database restarting) is waited for, saying why, for `LATCHKEY_DATABASE_WAIT_SECONDS`;
//! then the start fails with the cause. A failure that waiting cannot mend (a wrong password, a
//! database that does not exist, a malformed URL) fails at once.

use latchkey_core::error::{connection_cause as cause, is_pool_timeout, is_unreachable};
use latchkey_core::outbox::EventSubscriber;
use latchkey_core::{Database, PoolSettings};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the start-up tries again, and how often it says it is still waiting.
const RETRY_EVERY: Duration = Duration::from_millis(500);
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Connects to `url`, waiting up to `wait` for a database that cannot be reached yet.
pub async fn connect(
    url: &str,
    pool: PoolSettings,
    recorders: Vec<Arc<dyn EventSubscriber>>,
    wait: Duration,
) -> anyhow::Result<Database> {
    let started = Instant::now();
    let mut last_log: Option<Instant> = None;
    loop {
        match latchkey_core::connect(url, pool, recorders.clone()).await {
            Ok(db) => {
                if last_log.is_some() {
                    tracing::info!(database = %address(url), "the database is reachable");
                }
                return Ok(db);
            }
            Err(error) if is_unreachable(&error) && started.elapsed() < wait => {
                if last_log.is_none_or(|at| at.elapsed() >= LOG_EVERY) {
                    tracing::warn!(
                        "waiting for {} at {}: {} (giving up after {} s, LATCHKEY_DATABASE_WAIT_SECONDS)",
                        engine(url),
                        address(url),
                        why(url, &error, pool).await,
                        wait.as_secs()
                    );
                    last_log = Some(Instant::now());
                }
                tokio::time::sleep(RETRY_EVERY).await;
            }
            Err(error) => {
                let waited = if is_unreachable(&error) {
                    format!(" (waited {} s)", started.elapsed().as_secs())
                } else {
                    String::new()
                };
                anyhow::bail!(
                    "cannot connect to {} at {}: {}{waited}",
                    engine(url),
                    address(url),
                    why(url, &error, pool).await
                );
            }
        }
    }
}

/// Why the connection failed. The pool retries refused connections until its acquire timeout
/// and then reports only the timeout; a plain TCP connection to the server tells the cause
/// (refused, timed out, no such host) an operator needs.
async fn why(url: &str, error: &latchkey_core::error::DbError, pool: PoolSettings) -> String {
    let said = cause(error);
    if !is_pool_timeout(error) || !url.starts_with("postgres") {
        return said;
    }
    let target = address(url);
    match tokio::time::timeout(
        pool.acquire_timeout,
        tokio::net::TcpStream::connect(&target),
    )
    .await
    {
        Ok(Err(io)) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_owned()
        }
        Ok(Err(io)) => io.to_string(),
        Err(_) => "connection timed out".to_owned(),
        Ok(Ok(_)) => said,
    }
}

fn engine(url: &str) -> &'static str {
    if url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    }
}

/// `host:port` of a PostgreSQL URL (never its password), or the SQLite file.
fn address(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) if parsed.scheme().starts_with("postgres") => format!(
            "{}:{}",
            parsed.host_str().unwrap_or("localhost"),
            parsed.port().unwrap_or(5432)
        ),
        Ok(parsed) => parsed.path().to_owned(),
        Err(_) => "(malformed URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_never_shows_the_password() {
        assert_eq!(
            address("postgres://latchkey:secret@db.internal:6543/latchkey"),
            "db.internal:6543"
        );
        assert_eq!(address("postgresql://db/latchkey"), "db:5432");
    }

    #[tokio::test]
    async fn a_refused_connection_is_waited_for_then_reported_with_its_cause() {
        // A port nothing listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("postgres://latchkey@127.0.0.1:{port}/latchkey");
        let pool = PoolSettings {
            max_connections: 1,
            acquire_timeout: Duration::from_millis(300),
        };
        let Err(error) = connect(&url, pool, Vec::new(), Duration::from_millis(1200)).await else {
            panic!("nothing listens there");
        };
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "cannot connect to PostgreSQL at 127.0.0.1:{port}: connection refused (waited "
            )),
            "{message}"
        );
        assert!(!message.contains("internal error"), "{message}");
    }
}
