//! The machinery of the three-replica fault test (`tests/replicas.rs`): its own PostgreSQL
//! and Redis, Latchkey replicas as separate processes of the real binary, HAProxy in front,
//! and bounded mixed load that records what every client saw. Everything runs on free ports
//! in a temporary folder and is killed when the test ends, however it ends.

pub mod fleet;
pub mod haproxy;
pub mod load;
pub mod outcome;
pub mod postgres;
pub mod process;
pub mod redis;
pub mod replica;

/// The fault test starts services of its own, so it runs only when asked
/// (`LATCHKEY_TEST_REPLICAS=1`, as `.ci/run` does); plain `cargo test` skips it.
pub fn enabled() -> bool {
    std::env::var("LATCHKEY_TEST_REPLICAS").is_ok_and(|v| v == "1")
}
