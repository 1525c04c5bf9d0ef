//! Per-tenant CRM connectors. A connector pushes the tenant's domain events (see
//! [`latchkey_core::outbox`]) to HubSpot, Salesforce, Dynamics 365 or a signed webhook. Every event
//! that matches an enabled connector's triggers gets a delivery row in the event's own
//! transaction; the [`dispatch`] loop delivers them with retries, backoff and a dead letter.
//! Credentials are write-only and sealed under the master key.
//!
//! The submodules form layers; each uses only those below it:
//!
//! * `connector`, `config`, `records`, `rejection`, `signature`: what a connector is and the
//!   rules of its configuration, CRM records and their links, the refusal of an inbound
//!   request, webhook signatures;
//! * `deliveries`: the delivery queue, how events are queued, its list and replay services;
//!   `waiting`: pulled records that wait for their identity's address to be verified, and
//!   their release when it is;
//! * [`clients`]: the HTTP calls to the CRMs (pushes, tests, reads for pulls);
//! * [`pull`]: applying pulled records, the scheduled pulls, and the released waiting records;
//! * [`dispatch`] (the delivery loop, which also runs due pulls), [`inbound`] (webhooks from
//!   the CRMs), [`sync`] (backfills);
//! * `manage`: the connector services.
//!
//! This module only declares them and names what the API uses.

mod config;
mod connector;
mod contract_mapping;
mod deliveries;
mod manage;
mod records;
mod rejection;
mod signature;
mod waiting;

pub mod clients;
pub mod dispatch;
pub mod inbound;
pub mod pull;
pub mod sync;

pub use connector::{
    Connector, ConnectorChanges, ConnectorKind, Direction, NewConnector, RemoteDelete,
};
pub use deliveries::{
    Delivery, DeliveryFilter, DeliveryStatus, DeliverySubscriber, list_deliveries, replay_delivery,
};
pub use manage::{
    ConnectorTest, create_connector, delete_connector, get_connector, list_connectors, pull_now,
    pull_status, test_connector, update_connector,
};
pub(crate) use records::own_links_in as own_record_links_in;
pub use records::{RecordLink, links_of_in as record_links_of_in};
pub use waiting::{WaitingRecord, WaitingRecordReactions, list_waiting_records};
