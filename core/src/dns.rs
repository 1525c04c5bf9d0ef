//! Proof that someone controls a domain: a DNS TXT record `_latchkey-verification.<domain>`
//! holding `latchkey-verification=<token>`, with a token the server made for that one claim.
//! Organization domains ([`crate::domains`]) and tenants' custom domains (the control plane)
//! both use it.

use crate::error::{Error, Result};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use std::net::SocketAddr;
use std::time::Duration;

/// The DNS name of the verification record of `domain`.
const RECORD_PREFIX: &str = "_latchkey-verification";
/// What the record's value starts with, before the token.
const VALUE_PREFIX: &str = "latchkey-verification=";

/// The TXT record that proves control of a domain: its name and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationRecord {
    pub name: String,
    pub value: String,
}

impl VerificationRecord {
    /// The record for `domain` (lower case, without a trailing dot) with `token`.
    pub fn new(domain: &str, token: &str) -> Self {
        Self {
            name: format!("{RECORD_PREFIX}.{domain}"),
            value: format!("{VALUE_PREFIX}{token}"),
        }
    }
}

/// Looks up verification records: through one DNS server (`host:port`), or the system's
/// resolvers. Answers are not cached, so a record published a moment ago counts.
#[derive(Clone)]
pub struct DnsVerifier {
    resolver: TokioResolver,
}

impl DnsVerifier {
    fn options() -> ResolverOpts {
        let mut options = ResolverOpts::default();
        options.cache_size = 0;
        options.timeout = Duration::from_secs(5);
        options.attempts = 2;
        options
    }

    /// Asks the DNS server at `server` only.
    pub fn with_server(server: SocketAddr) -> Self {
        let servers = NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true);
        let config = ResolverConfig::from_parts(None, vec![], servers);
        let resolver =
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
                .with_options(Self::options())
                .build();
        Self { resolver }
    }

    /// Asks the resolvers of the system (`/etc/resolv.conf`).
    pub fn system() -> Result<Self> {
        let resolver = TokioResolver::builder_tokio()
            .map_err(|e| {
                Error::internal(format!(
                    "reading the system's DNS configuration: {e}; set LATCHKEY_DNS_SERVER"
                ))
            })?
            .with_options(Self::options())
            .build();
        Ok(Self { resolver })
    }

    /// The TXT strings published at `name`; none when the name or the record does not exist.
    async fn txt(&self, name: &str) -> Result<Vec<String>> {
        match self.resolver.txt_lookup(format!("{name}.")).await {
            Ok(lookup) => Ok(lookup
                .iter()
                .map(|txt| {
                    txt.txt_data()
                        .iter()
                        .map(|part| String::from_utf8_lossy(part).into_owned())
                        .collect::<String>()
                })
                .collect()),
            Err(error) if error.is_no_records_found() || error.is_nx_domain() => Ok(Vec::new()),
            Err(error) => Err(Error::Refused(format!(
                "the DNS lookup of {name} failed ({error}); try again later"
            ))),
        }
    }

    /// `Ok` when a TXT record named `record.name` holds `record.value`; otherwise `Refused`,
    /// saying what to publish and what was found. The lookup can take seconds: call it with no
    /// transaction open.
    pub async fn check(&self, record: &VerificationRecord) -> Result<()> {
        let found = self.txt(&record.name).await?;
        if found.iter().any(|value| value.trim() == record.value) {
            return Ok(());
        }
        let seen = if found.is_empty() {
            "no TXT record was found there".to_owned()
        } else {
            format!("the TXT records found there are {found:?}")
        };
        Err(Error::Refused(format!(
            "publish a TXT record named {} with the value {} ({seen}); DNS changes can take a while to show, so try again later",
            record.name, record.value
        )))
    }
}
