//! A minimal authoritative DNS server on loopback (UDP) for tests: it answers TXT queries
//! from records the test publishes, and NXDOMAIN for every other name.

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, Record, RecordType};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;

type Zone = Arc<Mutex<HashMap<String, Vec<String>>>>;

pub struct DnsServer {
    /// Where it listens, for `LATCHKEY_DNS_SERVER`.
    pub addr: SocketAddr,
    zone: Zone,
}

impl DnsServer {
    pub async fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let zone = Zone::default();
        let records = zone.clone();
        tokio::spawn(async move {
            let mut buffer = vec![0u8; 4096];
            while let Ok((len, peer)) = socket.recv_from(&mut buffer).await {
                let Ok(query) = Message::from_vec(&buffer[..len]) else {
                    continue;
                };
                let answer = answer(&query, &records.lock().unwrap());
                let _ = socket.send_to(&answer.to_vec().unwrap(), peer).await;
            }
        });
        Self { addr, zone }
    }

    /// Publishes a TXT record (`name` without the trailing dot), next to any already there.
    pub fn publish_txt(&self, name: &str, value: &str) {
        self.zone
            .lock()
            .unwrap()
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value.to_owned());
    }
}

fn answer(query: &Message, zone: &HashMap<String, Vec<String>>) -> Message {
    let mut response = Message::new();
    response
        .set_id(query.id())
        .set_message_type(MessageType::Response)
        .set_op_code(query.op_code())
        .set_recursion_desired(query.recursion_desired())
        .set_authoritative(true);
    let Some(question) = query.queries().first() else {
        response.set_response_code(ResponseCode::FormErr);
        return response;
    };
    response.add_query(question.clone());
    let name = question.name().to_ascii();
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    match zone.get(&name) {
        None => {
            response.set_response_code(ResponseCode::NXDomain);
        }
        Some(values) => {
            if question.query_type() == RecordType::TXT {
                for value in values {
                    response.add_answer(Record::from_rdata(
                        question.name().clone(),
                        0,
                        RData::TXT(TXT::new(vec![value.clone()])),
                    ));
                }
            }
        }
    }
    response
}
