//! The clock tests move: the core's [`ManualClock`], given to a server with
//! [`crate::TestApp::start_with_clock`].

pub use latchkey_core::clock::ManualClock;
