//! A minimal SMTP server on loopback for tests: it accepts every message (except for
//! recipients starting with `bounce`, refused with 550) and keeps them for the test to read.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A received message: the envelope recipients and the raw data.
#[derive(Clone, Debug)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Clone)]
pub struct SmtpSink {
    /// `smtp://127.0.0.1:<port>` (no TLS), for `LATCHKEY_SMTP_URL`.
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                    let (mut to, mut data, mut in_data) = (Vec::new(), String::new(), false);
                    while let Ok(Some(line)) = lines.next_line().await {
                        if in_data {
                            if line == "." {
                                in_data = false;
                                store.lock().unwrap().push(Received {
                                    to: std::mem::take(&mut to),
                                    data: std::mem::take(&mut data),
                                });
                                let _ = write.write_all(b"250 queued\r\n").await;
                            } else {
                                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                                data.push('\n');
                            }
                            continue;
                        }
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            let address = line[8..].trim().trim_matches(['<', '>']).to_owned();
                            if address.starts_with("bounce") {
                                b"550 no such mailbox\r\n"
                            } else {
                                to.push(address);
                                b"250 ok\r\n"
                            }
                        } else if upper == "DATA" {
                            in_data = true;
                            b"354 go ahead\r\n"
                        } else if upper == "QUIT" {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 ok\r\n"
                        };
                        let _ = write.write_all(reply).await;
                    }
                });
            }
        });
        Self { url, received }
    }

    /// Waits (up to 10 s) for a message to `address` and returns it.
    pub async fn wait_for(&self, address: &str) -> Received {
        for _ in 0..200 {
            let found = self
                .received
                .lock()
                .unwrap()
                .iter()
                .rev()
                .find(|m| m.to.iter().any(|t| t == address))
                .cloned();
            if let Some(message) = found {
                return message;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no message to {address} arrived");
    }

    /// How many messages went to `address`.
    /// Waits (up to 5 s) until `address` has received `count` messages; answers the latest.
    pub async fn wait_for_nth(&self, address: &str, count: usize) -> Received {
        for _ in 0..100 {
            if self.count_for(address) >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(self.count_for(address), count, "messages to {address}");
        self.wait_for(address).await
    }

    /// The newest message to `address` received so far.
    pub fn last_for(&self, address: &str) -> Option<Received> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .cloned()
    }

    pub fn count_for(&self, address: &str) -> usize {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .count()
    }
}

impl Received {
    /// The message as a mail client shows it: headers as sent, then the plain-text body (of
    /// a `multipart/alternative` message, its `text/plain` part), quoted-printable decoded
    /// (soft line breaks joined, `=XX` escapes turned back into bytes).
    pub fn text(&self) -> String {
        self.part("text/plain")
    }

    /// The HTML part of a `multipart/alternative` message, decoded; empty if it has none.
    pub fn html(&self) -> String {
        let text = self.part("text/html");
        match text.split_once("\n\n") {
            Some((_, body)) if self.is_multipart() => body.to_owned(),
            _ => String::new(),
        }
    }

    fn is_multipart(&self) -> bool {
        self.data.split_once("\n\n").is_some_and(|(headers, _)| {
            headers
                .to_ascii_lowercase()
                .contains("multipart/alternative")
        })
    }

    /// The top-level headers and the decoded body of the part of `content_type` (or of the
    /// whole message when it is not multipart).
    fn part(&self, content_type: &str) -> String {
        let data = self.data.replace("\r\n", "\n");
        let Some((headers, body)) = data.split_once("\n\n") else {
            return data;
        };
        let lower = headers.to_ascii_lowercase();
        if !lower.contains("multipart/alternative") {
            return format!("{headers}\n\n{}", decode_body(headers, body));
        }
        let boundary = headers
            .split("boundary=")
            .nth(1)
            .map(|b| {
                b.split([';', '\n'])
                    .next()
                    .unwrap_or("")
                    .trim()
                    .trim_matches('"')
                    .to_owned()
            })
            .unwrap_or_default();
        let delimiter = format!("--{boundary}");
        for part in body.split(&delimiter) {
            let part = part.trim_start_matches('\n');
            let Some((part_headers, part_body)) = part.split_once("\n\n") else {
                continue;
            };
            if part_headers
                .to_ascii_lowercase()
                .contains(&format!("content-type: {content_type}"))
            {
                return format!("{headers}\n\n{}", decode_body(part_headers, part_body));
            }
        }
        format!("{headers}\n\n")
    }
}

/// A body as its `Content-Transfer-Encoding` header says (quoted-printable or as it is).
fn decode_body(headers: &str, body: &str) -> String {
    if !headers
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: quoted-printable")
    {
        return body.to_owned();
    }
    let joined = body.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'=', Some(hex)) if hex.iter().all(u8::is_ascii_hexdigit) => {
                let hex = std::str::from_utf8(hex).unwrap();
                decoded.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// The value of the link parameter `name` (`?name=<token>`) in a message.
fn link_parameter(message: &Received, name: &str) -> String {
    let text = message.text();
    let key = format!("{name}=");
    let start = text
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} link in {text}"))
        + key.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

/// The invitation token of an invitation email's link.
pub fn invitation_token(message: &Received) -> String {
    link_parameter(message, "invitation")
}

/// The registration token of a recovery email's link.
pub fn registration_token(message: &Received) -> String {
    link_parameter(message, "registration")
}
