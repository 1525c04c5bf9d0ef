//! IP addresses and CIDR ranges, for the trusted reverse proxies.

use std::net::IpAddr;

/// An IP address or CIDR range (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn parse(text: &str) -> Option<Self> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().ok()?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(Self { network, prefix })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let mask = |bits: u32| -> u128 {
            if self.prefix == 0 {
                0
            } else {
                u128::MAX << (bits - u32::from(self.prefix))
            }
        };
        match (self.network, address) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let m = mask(32) as u32;
                u32::from(net) & m == u32::from(ip) & m
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let m = mask(128);
                u128::from(net) & m == u128::from(ip) & m
            }
            _ => false,
        }
    }
}
