//! Which IP addresses an outbound call may go to: the one filter every call the server makes
//! on a tenant's behalf uses (CRM connectors and webhooks today, federation later), so that
//! a tenant admin cannot point the server at the deployment's own network.
//!
//! An address is public when the IANA IPv4 and IPv6 Special-Purpose Address Registries
//! (RFC 6890 as updated by RFC 8190) do not say otherwise: of the registry entries that
//! contain it, the most specific decides, and an entry whose "Globally Reachable" column is
//! not "True" refuses it (so `192.0.0.9/32` is public inside the refused `192.0.0.0/24`).
//! Beyond the registries:
//! - multicast (`224.0.0.0/4`, `ff00::/8`) is refused: it names a group, not a server;
//! - an IPv6 address outside the global unicast space `2000::/3` (IANA IPv6 Address Space
//!   registry) is refused unless a registry entry makes it public, which refuses the
//!   deprecated IPv4-compatible form `::a.b.c.d` and the site-local `fec0::/10`;
//! - an IPv6 address that carries an IPv4 address to which the traffic goes (the NAT64
//!   well-known prefix `64:ff9b::/96`, 6to4 `2002::/16`, Teredo `2001::/32` with its server
//!   and its obfuscated client) is public only when the IPv4 address is. IPv4-mapped
//!   `::ffff:a.b.c.d` is refused whatever it carries (the registry's entry is not reachable).
//!
//! The tables follow the registries as of 2025 (including RFC 9637's `3fff::/20`, RFC 9602's
//! `5f00::/16` and RFC 9780's `100:0:0:1::/64`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a registry entry says about reaching its addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    /// "Globally Reachable: True".
    Global,
    /// "False", or "N/A" for a deprecated block: refused.
    Local,
    /// The address carries an IPv4 address that decides ("True" for NAT64's well-known
    /// prefix, "N/A" for 6to4 and Teredo).
    Carries(Embedded),
}

/// Where an IPv6 address carries an IPv4 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Embedded {
    /// The last 32 bits (RFC 6052).
    Nat64,
    /// Bits 16 to 48 (RFC 3056).
    SixToFour,
    /// The server in bits 32 to 64 and the client, inverted, in the last 32 (RFC 4380 §4).
    Teredo,
}

struct Block<A> {
    network: A,
    prefix: u8,
    name: &'static str,
    reach: Reach,
}

const fn v4(
    a: u8,
    b: u8,
    c: u8,
    d: u8,
    prefix: u8,
    name: &'static str,
    reach: Reach,
) -> Block<Ipv4Addr> {
    Block {
        network: Ipv4Addr::new(a, b, c, d),
        prefix,
        name,
        reach,
    }
}

const fn v6(segments: [u16; 8], prefix: u8, name: &'static str, reach: Reach) -> Block<Ipv6Addr> {
    let [a, b, c, d, e, f, g, h] = segments;
    Block {
        network: Ipv6Addr::new(a, b, c, d, e, f, g, h),
        prefix,
        name,
        reach,
    }
}

use Reach::{Carries, Global, Local};

/// The IANA IPv4 Special-Purpose Address Registry, every entry, then multicast.
#[rustfmt::skip]
const IPV4: &[Block<Ipv4Addr>] = &[
    v4(0, 0, 0, 0, 8, "\"This network\" (RFC 791)", Local),
    v4(0, 0, 0, 0, 32, "\"This host on this network\" (RFC 1122)", Local),
    v4(10, 0, 0, 0, 8, "Private-Use (RFC 1918)", Local),
    v4(100, 64, 0, 0, 10, "Shared Address Space (RFC 6598)", Local),
    v4(127, 0, 0, 0, 8, "Loopback (RFC 1122)", Local),
    v4(169, 254, 0, 0, 16, "Link Local (RFC 3927)", Local),
    v4(172, 16, 0, 0, 12, "Private-Use (RFC 1918)", Local),
    v4(192, 0, 0, 0, 24, "IETF Protocol Assignments (RFC 6890)", Local),
    v4(192, 0, 0, 0, 29, "IPv4 Service Continuity Prefix (RFC 7335)", Local),
    v4(192, 0, 0, 8, 32, "IPv4 dummy address (RFC 7600)", Local),
    v4(192, 0, 0, 9, 32, "Port Control Protocol Anycast (RFC 7723)", Global),
    v4(192, 0, 0, 10, 32, "Traversal Using Relays around NAT Anycast (RFC 8155)", Global),
    v4(192, 0, 0, 170, 32, "NAT64/DNS64 Discovery (RFC 8880)", Local),
    v4(192, 0, 0, 171, 32, "NAT64/DNS64 Discovery (RFC 8880)", Local),
    v4(192, 0, 2, 0, 24, "Documentation (TEST-NET-1) (RFC 5737)", Local),
    v4(192, 31, 196, 0, 24, "AS112-v4 (RFC 7535)", Global),
    v4(192, 52, 193, 0, 24, "AMT (RFC 7450)", Global),
    v4(192, 88, 99, 0, 24, "Deprecated (6to4 Relay Anycast) (RFC 7526)", Local),
    v4(192, 88, 99, 2, 32, "6a44-relay anycast address (RFC 6751)", Global),
    v4(192, 168, 0, 0, 16, "Private-Use (RFC 1918)", Local),
    v4(192, 175, 48, 0, 24, "Direct Delegation AS112 Service (RFC 7534)", Global),
    v4(198, 18, 0, 0, 15, "Benchmarking (RFC 2544)", Local),
    v4(198, 51, 100, 0, 24, "Documentation (TEST-NET-2) (RFC 5737)", Local),
    v4(203, 0, 113, 0, 24, "Documentation (TEST-NET-3) (RFC 5737)", Local),
    v4(240, 0, 0, 0, 4, "Reserved (RFC 1112)", Local),
    v4(255, 255, 255, 255, 32, "Limited Broadcast (RFC 8190)", Local),
    v4(224, 0, 0, 0, 4, "Multicast (RFC 5771; not in the special-purpose registry)", Local),
];

/// The IANA IPv6 Special-Purpose Address Registry, every entry, then multicast.
#[rustfmt::skip]
const IPV6: &[Block<Ipv6Addr>] = &[
    v6([0, 0, 0, 0, 0, 0, 0, 1], 128, "Loopback Address (RFC 4291)", Local),
    v6([0, 0, 0, 0, 0, 0, 0, 0], 128, "Unspecified Address (RFC 4291)", Local),
    v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96, "IPv4-mapped Address (RFC 4291)", Local),
    v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96, "IPv4-IPv6 Translat. (RFC 6052)", Carries(Embedded::Nat64)),
    v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, "IPv4-IPv6 Translat. (RFC 8215)", Local),
    v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "Discard-Only Address Block (RFC 6666)", Local),
    v6([0x100, 0, 0, 1, 0, 0, 0, 0], 64, "Dummy IPv6 Prefix (RFC 9780)", Local),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, "IETF Protocol Assignments (RFC 2928)", Local),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, "TEREDO (RFC 4380)", Carries(Embedded::Teredo)),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 1], 128, "Port Control Protocol Anycast (RFC 7723)", Global),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 2], 128, "Traversal Using Relays around NAT Anycast (RFC 8155)", Global),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 3], 128, "DNS-SD Service Registration Protocol Anycast (RFC 9665)", Global),
    v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48, "Benchmarking (RFC 5180)", Local),
    v6([0x2001, 3, 0, 0, 0, 0, 0, 0], 32, "AMT (RFC 7450)", Global),
    v6([0x2001, 4, 0x112, 0, 0, 0, 0, 0], 48, "AS112-v6 (RFC 7535)", Global),
    v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0], 28, "Deprecated (previously ORCHID) (RFC 4843)", Local),
    v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28, "ORCHIDv2 (RFC 7343)", Global),
    v6([0x2001, 0x30, 0, 0, 0, 0, 0, 0], 28, "Drone Remote ID Protocol Entity Tags (DETs) Prefix (RFC 9374)", Global),
    v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, "Documentation (RFC 3849)", Local),
    v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16, "6to4 (RFC 3056)", Carries(Embedded::SixToFour)),
    v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0], 48, "Direct Delegation AS112 Service (RFC 7534)", Global),
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, "Documentation (RFC 9637)", Local),
    v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16, "Segment Routing (SRv6) SIDs (RFC 9602)", Local),
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "Unique-Local (RFC 4193)", Local),
    v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "Link-Local Unicast (RFC 4291)", Local),
    v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "Multicast (RFC 4291; not in the special-purpose registry)", Local),
];

/// The global unicast space of the IANA IPv6 Address Space registry.
const GLOBAL_UNICAST: Ipv6Addr = Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0);

fn contains_v4(block: &Block<Ipv4Addr>, ip: Ipv4Addr) -> bool {
    let mask = u32::MAX
        .checked_shl(32 - u32::from(block.prefix))
        .unwrap_or(0);
    u32::from(ip) & mask == u32::from(block.network)
}

fn contains_v6(network: Ipv6Addr, prefix: u8, ip: Ipv6Addr) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(network)
}

/// The most specific entry of `table` that contains `ip`.
fn most_specific<A>(
    table: &'static [Block<A>],
    contains: impl Fn(&Block<A>) -> bool,
) -> Option<&'static Block<A>> {
    table
        .iter()
        .filter(|block| contains(block))
        .max_by_key(|block| block.prefix)
}

/// Whether outbound calls may go to `ip` (see the module documentation).
pub fn is_public(ip: IpAddr) -> bool {
    why_not_public(ip).is_none()
}

/// Why outbound calls may not go to `ip`: the registry entry that refuses it (for an IPv6
/// address carrying an IPv4 one, the entry that refuses the IPv4 address too); `None` when
/// `ip` is public.
pub fn why_not_public(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(ip) => refusing_v4(ip).map(str::to_owned),
        IpAddr::V6(ip) => refusing_v6(ip),
    }
}

fn refusing_v4(ip: Ipv4Addr) -> Option<&'static str> {
    most_specific(IPV4, |block| contains_v4(block, ip))
        .filter(|block| block.reach != Global)
        .map(|block| block.name)
}

fn refusing_v6(ip: Ipv6Addr) -> Option<String> {
    let bits = u128::from(ip);
    let Some(block) = most_specific(IPV6, |block| contains_v6(block.network, block.prefix, ip))
    else {
        return (!contains_v6(GLOBAL_UNICAST, 3, ip))
            .then(|| "outside the global unicast space 2000::/3".to_owned());
    };
    let carried: &[u32] = match block.reach {
        Global => return None,
        Local => return Some(block.name.to_owned()),
        Carries(Embedded::Nat64) => &[bits as u32],
        Carries(Embedded::SixToFour) => &[(bits >> 80) as u32],
        Carries(Embedded::Teredo) => &[(bits >> 64) as u32, !(bits as u32)],
    };
    carried.iter().find_map(|&v4| {
        let v4 = Ipv4Addr::from(v4);
        refusing_v4(v4).map(|why| format!("{v4}, {why}, in {}", block.name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// For every registry entry: its first and last address, and the addresses just outside
    /// it, with whether each is public. `entry` names the registry entry the row is about.
    #[rustfmt::skip]
    const ROWS: &[(&str, &str, bool)] = &[
        // IPv4
        ("\"This network\"", "0.0.0.0", false),
        ("\"This network\"", "0.255.255.255", false),
        ("\"This network\"", "1.0.0.0", true),
        ("\"This host on this network\"", "0.0.0.0", false),
        ("\"This host on this network\"", "0.0.0.1", false),
        ("Private-Use (RFC 1918)", "9.255.255.255", true),
        ("Private-Use (RFC 1918)", "10.0.0.0", false),
        ("Private-Use (RFC 1918)", "10.255.255.255", false),
        ("Private-Use (RFC 1918)", "11.0.0.0", true),
        ("Shared Address Space", "100.63.255.255", true),
        ("Shared Address Space", "100.64.0.0", false),
        ("Shared Address Space", "100.127.255.255", false),
        ("Shared Address Space", "100.128.0.0", true),
        ("Loopback (RFC 1122)", "126.255.255.255", true),
        ("Loopback (RFC 1122)", "127.0.0.0", false),
        ("Loopback (RFC 1122)", "127.255.255.255", false),
        ("Loopback (RFC 1122)", "128.0.0.0", true),
        ("Link Local", "169.253.255.255", true),
        ("Link Local", "169.254.0.0", false),
        ("Link Local", "169.254.169.254", false),
        ("Link Local", "169.254.255.255", false),
        ("Link Local", "169.255.0.0", true),
        ("Private-Use (RFC 1918)", "172.15.255.255", true),
        ("Private-Use (RFC 1918)", "172.16.0.0", false),
        ("Private-Use (RFC 1918)", "172.31.255.255", false),
        ("Private-Use (RFC 1918)", "172.32.0.0", true),
        ("IETF Protocol Assignments (RFC 6890)", "191.255.255.255", true),
        ("IETF Protocol Assignments (RFC 6890)", "192.0.0.0", false),
        ("IETF Protocol Assignments (RFC 6890)", "192.0.0.11", false),
        ("IETF Protocol Assignments (RFC 6890)", "192.0.0.169", false),
        ("IETF Protocol Assignments (RFC 6890)", "192.0.0.172", false),
        ("IETF Protocol Assignments (RFC 6890)", "192.0.0.255", false),
        ("IETF Protocol Assignments (RFC 6890)", "192.0.1.0", true),
        ("IPv4 Service Continuity Prefix", "192.0.0.0", false),
        ("IPv4 Service Continuity Prefix", "192.0.0.7", false),
        ("IPv4 dummy address", "192.0.0.8", false),
        ("Port Control Protocol Anycast (RFC 7723)", "192.0.0.9", true),
        ("Traversal Using Relays around NAT Anycast (RFC 8155)", "192.0.0.10", true),
        ("NAT64/DNS64 Discovery", "192.0.0.170", false),
        ("NAT64/DNS64 Discovery", "192.0.0.171", false),
        ("Documentation (TEST-NET-1)", "192.0.1.255", true),
        ("Documentation (TEST-NET-1)", "192.0.2.0", false),
        ("Documentation (TEST-NET-1)", "192.0.2.255", false),
        ("Documentation (TEST-NET-1)", "192.0.3.0", true),
        ("AS112-v4", "192.31.196.0", true),
        ("AS112-v4", "192.31.196.255", true),
        ("AMT (RFC 7450)", "192.52.193.0", true),
        ("AMT (RFC 7450)", "192.52.193.255", true),
        ("Deprecated (6to4 Relay Anycast)", "192.88.98.255", true),
        ("Deprecated (6to4 Relay Anycast)", "192.88.99.0", false),
        ("Deprecated (6to4 Relay Anycast)", "192.88.99.1", false),
        ("Deprecated (6to4 Relay Anycast)", "192.88.99.3", false),
        ("Deprecated (6to4 Relay Anycast)", "192.88.99.255", false),
        ("Deprecated (6to4 Relay Anycast)", "192.88.100.0", true),
        ("6a44-relay anycast address", "192.88.99.2", true),
        ("Private-Use (RFC 1918)", "192.167.255.255", true),
        ("Private-Use (RFC 1918)", "192.168.0.0", false),
        ("Private-Use (RFC 1918)", "192.168.255.255", false),
        ("Private-Use (RFC 1918)", "192.169.0.0", true),
        ("Direct Delegation AS112 Service (RFC 7534)", "192.175.48.0", true),
        ("Direct Delegation AS112 Service (RFC 7534)", "192.175.48.255", true),
        ("Benchmarking (RFC 2544)", "198.17.255.255", true),
        ("Benchmarking (RFC 2544)", "198.18.0.0", false),
        ("Benchmarking (RFC 2544)", "198.19.255.255", false),
        ("Benchmarking (RFC 2544)", "198.20.0.0", true),
        ("Documentation (TEST-NET-2)", "198.51.99.255", true),
        ("Documentation (TEST-NET-2)", "198.51.100.0", false),
        ("Documentation (TEST-NET-2)", "198.51.100.255", false),
        ("Documentation (TEST-NET-2)", "198.51.101.0", true),
        ("Documentation (TEST-NET-3)", "203.0.112.255", true),
        ("Documentation (TEST-NET-3)", "203.0.113.0", false),
        ("Documentation (TEST-NET-3)", "203.0.113.255", false),
        ("Documentation (TEST-NET-3)", "203.0.114.0", true),
        ("Multicast (RFC 5771", "223.255.255.255", true),
        ("Multicast (RFC 5771", "224.0.0.0", false),
        ("Multicast (RFC 5771", "239.255.255.255", false),
        ("Reserved (RFC 1112)", "240.0.0.0", false),
        ("Reserved (RFC 1112)", "255.255.255.254", false),
        ("Limited Broadcast", "255.255.255.255", false),
        // IPv6
        ("Loopback Address", "::1", false),
        ("Unspecified Address", "::", false),
        ("IPv4-mapped Address", "::fffe:ffff:ffff", false),
        ("IPv4-mapped Address", "::ffff:0.0.0.0", false),
        ("IPv4-mapped Address", "::ffff:8.8.8.8", false),
        ("IPv4-mapped Address", "::ffff:127.0.0.1", false),
        ("IPv4-mapped Address", "::ffff:255.255.255.255", false),
        ("IPv4-mapped Address", "::1:0:0:0", false),
        ("IPv4-IPv6 Translat. (RFC 6052)", "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("IPv4-IPv6 Translat. (RFC 6052)", "64:ff9b::8.8.8.8", true),
        ("IPv4-IPv6 Translat. (RFC 6052)", "64:ff9b::127.0.0.1", false),
        ("IPv4-IPv6 Translat. (RFC 6052)", "64:ff9b::10.0.0.1", false),
        ("IPv4-IPv6 Translat. (RFC 6052)", "64:ff9b::198.18.0.1", false),
        ("IPv4-IPv6 Translat. (RFC 6052)", "64:ff9b::", false),
        ("IPv4-IPv6 Translat. (RFC 6052)", "64:ff9b::255.255.255.255", false),
        ("IPv4-IPv6 Translat. (RFC 6052)", "64:ff9b::1:0:0", false),
        ("IPv4-IPv6 Translat. (RFC 8215)", "64:ff9b:1::", false),
        ("IPv4-IPv6 Translat. (RFC 8215)", "64:ff9b:1::8.8.8.8", false),
        ("IPv4-IPv6 Translat. (RFC 8215)", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", false),
        ("Discard-Only Address Block", "100::", false),
        ("Discard-Only Address Block", "100::ffff:ffff:ffff:ffff", false),
        ("Dummy IPv6 Prefix", "100:0:0:1::", false),
        ("Dummy IPv6 Prefix", "100:0:0:1:ffff:ffff:ffff:ffff", false),
        ("IETF Protocol Assignments (RFC 2928)", "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
        ("IETF Protocol Assignments (RFC 2928)", "2001:1::", false),
        ("IETF Protocol Assignments (RFC 2928)", "2001:1::4", false),
        ("IETF Protocol Assignments (RFC 2928)", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("IETF Protocol Assignments (RFC 2928)", "2001:200::", true),
        ("TEREDO", "2001::", false),
        // Server 65.54.227.120 and client 8.8.8.8, then client 127.0.0.1 and 10.0.0.1.
        ("TEREDO", "2001:0:4136:e378:8000:63bf:f7f7:f7f7", true),
        ("TEREDO", "2001:0:4136:e378:8000:63bf:80ff:fffe", false),
        ("TEREDO", "2001:0:4136:e378:8000:63bf:f5ff:fffe", false),
        // Server 10.0.0.1, client 8.8.8.8.
        ("TEREDO", "2001:0:a00:1::f7f7:f7f7", false),
        ("TEREDO", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("Port Control Protocol Anycast (RFC 7723)", "2001:1::1", true),
        ("Traversal Using Relays around NAT Anycast (RFC 8155)", "2001:1::2", true),
        ("DNS-SD Service Registration Protocol Anycast", "2001:1::3", true),
        ("Benchmarking (RFC 5180)", "2001:2::", false),
        ("Benchmarking (RFC 5180)", "2001:2:0:ffff:ffff:ffff:ffff:ffff", false),
        ("Benchmarking (RFC 5180)", "2001:2:1::", false),
        ("AMT (RFC 7450)", "2001:3::", true),
        ("AMT (RFC 7450)", "2001:3:ffff:ffff:ffff:ffff:ffff:ffff", true),
        ("AMT (RFC 7450)", "2001:4::", false),
        ("AS112-v6", "2001:4:112::", true),
        ("AS112-v6", "2001:4:112:ffff:ffff:ffff:ffff:ffff", true),
        ("AS112-v6", "2001:4:113::", false),
        ("Deprecated (previously ORCHID)", "2001:10::", false),
        ("Deprecated (previously ORCHID)", "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("ORCHIDv2", "2001:20::", true),
        ("ORCHIDv2", "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", true),
        ("Drone Remote ID Protocol Entity Tags", "2001:30::", true),
        ("Drone Remote ID Protocol Entity Tags", "2001:3f:ffff:ffff:ffff:ffff:ffff:ffff", true),
        ("Drone Remote ID Protocol Entity Tags", "2001:40::", false),
        ("Documentation (RFC 3849)", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", true),
        ("Documentation (RFC 3849)", "2001:db8::", false),
        ("Documentation (RFC 3849)", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("Documentation (RFC 3849)", "2001:db9::", true),
        ("Documentation (RFC 3849)", "2001:4860:4860::8888", true),
        ("6to4", "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
        ("6to4", "2002::", false),
        ("6to4", "2002:808:808::1", true),
        ("6to4", "2002:7f00:1::1", false),
        ("6to4", "2002:c0a8:101::1", false),
        ("6to4", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("6to4", "2003::", true),
        ("Direct Delegation AS112 Service (RFC 7534)", "2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", true),
        ("Direct Delegation AS112 Service (RFC 7534)", "2620:4f:8000::", true),
        ("Direct Delegation AS112 Service (RFC 7534)", "2620:4f:8000:ffff:ffff:ffff:ffff:ffff", true),
        ("Documentation (RFC 9637)", "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
        ("Documentation (RFC 9637)", "3fff::", false),
        ("Documentation (RFC 9637)", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("Documentation (RFC 9637)", "3fff:1000::", true),
        ("Segment Routing (SRv6) SIDs", "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("Segment Routing (SRv6) SIDs", "5f00::", false),
        ("Segment Routing (SRv6) SIDs", "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("Unique-Local", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("Unique-Local", "fc00::", false),
        ("Unique-Local", "fd12:3456::1", false),
        ("Unique-Local", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("Link-Local Unicast", "fe80::", false),
        ("Link-Local Unicast", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("Link-Local Unicast", "fec0::1", false),
        ("Multicast (RFC 4291", "ff00::", false),
        ("Multicast (RFC 4291", "ff02::1", false),
        ("Multicast (RFC 4291", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        // Outside the registries: global unicast is public, the rest of the space is not.
        ("2000::/3", "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("2000::/3", "2000::", true),
        ("2000::/3", "2606:4700:4700::1111", true),
        ("2000::/3", "3fff:1000::1", true),
        ("2000::/3", "4000::", false),
        ("2000::/3", "::8.8.8.8", false),
        ("2000::/3", "::127.0.0.1", false),
    ];

    #[test]
    fn every_registry_entry_on_both_sides_of_its_boundaries() {
        for (entry, address, public) in ROWS {
            let ip: IpAddr = address.parse().unwrap();
            assert_eq!(is_public(ip), *public, "{address} ({entry})");
        }
    }

    #[test]
    fn refusals_name_the_registry_entry() {
        let why = |ip: &str| why_not_public(ip.parse().unwrap());
        assert_eq!(why("10.1.2.3").as_deref(), Some("Private-Use (RFC 1918)"));
        assert_eq!(
            why("64:ff9b::7f00:1").as_deref(),
            Some("127.0.0.1, Loopback (RFC 1122), in IPv4-IPv6 Translat. (RFC 6052)")
        );
        assert_eq!(
            why("::7f00:1").as_deref(),
            Some("outside the global unicast space 2000::/3")
        );
        assert_eq!(why("2606:4700:4700::1111"), None);
    }

    #[test]
    fn the_table_tests_name_every_entry() {
        let names = IPV4
            .iter()
            .map(|b| b.name)
            .chain(IPV6.iter().map(|b| b.name));
        for name in names {
            assert!(
                ROWS.iter().any(|(entry, ..)| name.starts_with(entry)),
                "no test row for {name}"
            );
        }
    }

    #[test]
    fn every_network_is_its_own_first_address() {
        for block in IPV4 {
            assert!(contains_v4(block, block.network), "{}", block.name);
            assert!(block.prefix <= 32);
        }
        for block in IPV6 {
            assert!(
                contains_v6(block.network, block.prefix, block.network),
                "{}",
                block.name
            );
            assert!(block.prefix <= 128);
        }
    }
}
