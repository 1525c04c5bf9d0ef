//! A TCP proxy between a test server and one of its dependencies (PostgreSQL, Redis) that a
//! test switches between passing traffic, cutting it (every connection closed at once, new
//! ones closed on arrival: a dependency that is down) and swallowing it (connections accepted
//! and held without an answer: a dependency that hangs). The real dependency keeps running for
//! the other tests: outages are made here, never by stopping a shared server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    Pass = 0,
    /// Closes every connection: the dependency is down.
    Cut = 1,
    /// Holds connections without forwarding a byte: the dependency hangs.
    Swallow = 2,
}

/// A running proxy; dropped, it stops listening.
pub struct FaultProxy {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    changed: watch::Sender<u8>,
    accept: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let mode = Arc::new(AtomicU8::new(Mode::Pass as u8));
        let (changed, _) = watch::channel(Mode::Pass as u8);
        let accept = tokio::spawn({
            let mode = mode.clone();
            let changed = changed.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(serve(
                        client,
                        upstream.clone(),
                        mode.clone(),
                        changed.subscribe(),
                    ));
                }
            }
        });
        Self {
            addr,
            mode,
            changed,
            accept,
        }
    }

    /// Switches the mode; connections open now follow it at once.
    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
        self.changed.send_replace(mode as u8);
    }

    /// `url` with its `host:port` replaced by this proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let mut parsed = url::Url::parse(url).expect("dependency URL");
        parsed.set_host(Some("127.0.0.1")).expect("host");
        parsed.set_port(Some(self.addr.port())).expect("port");
        parsed.to_string()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.set(Mode::Cut);
    }
}

/// `host:port` of a dependency URL.
pub fn upstream_of(url: &str) -> String {
    let parsed = url::Url::parse(url).expect("dependency URL");
    format!(
        "{}:{}",
        parsed.host_str().expect("host"),
        parsed.port_or_known_default().expect("port")
    )
}

async fn serve(
    mut client: TcpStream,
    upstream: String,
    mode: Arc<AtomicU8>,
    mut changed: watch::Receiver<u8>,
) {
    let current = mode.load(Ordering::SeqCst);
    if current == Mode::Cut as u8 {
        return;
    }
    if current == Mode::Swallow as u8 {
        // Held until the mode changes again, then closed.
        let _ = changed.changed().await;
        return;
    }
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let swallowed = tokio::select! {
        _ = copy_bidirectional(&mut client, &mut server) => false,
        // A change away from passing ends the conversation: cut closes it, swallow keeps both
        // sockets open without forwarding another byte until the next change.
        swallowed = async {
            loop {
                if changed.changed().await.is_err() {
                    break false;
                }
                let now = *changed.borrow();
                if now != Mode::Pass as u8 {
                    break now == Mode::Swallow as u8;
                }
            }
        } => swallowed,
    };
    if swallowed {
        let _ = changed.changed().await;
    }
    drop((client, server));
}
