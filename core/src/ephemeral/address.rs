//! `LATCHKEY_REDIS_URL`: one Redis node, a Redis Cluster or a Sentinel-managed primary.
//!
//! - `redis://[user:password@]host:port[/db]` (`rediss://` for TLS): one node, in the redis
//!   crate's own URL form.
//! - `redis+cluster://[user:password@]h1:p1,h2:p2,…` (`rediss+cluster://`): the seed nodes of a
//!   Redis Cluster; the client learns the others from them.
//! - `redis+sentinel://[user:password@]h1:p1,h2:p2,…/<master name>` (`rediss+sentinel://`):
//!   the sentinels that watch the primary called `<master name>`. The credentials are the
//!   data nodes'; the sentinels are asked without them.
//!
//! The settings check (`api`) and [`super::RedisStore::connect`] both parse with
//! [`RedisAddress::parse`], so what the check accepts is what the store can use.

use redis::IntoConnectionInfo;

/// A parsed `LATCHKEY_REDIS_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisAddress {
    /// One node; the URL as given.
    Node(String),
    /// Seed nodes of a cluster, each as a node URL carrying the credentials.
    Cluster(Vec<String>),
    Sentinel {
        /// Each sentinel as a URL without credentials.
        sentinels: Vec<String>,
        /// The name the sentinels know the primary by.
        master: String,
        /// A node URL holding the credentials and TLS choice for the primary.
        primary: String,
    },
}

const DEFAULT_PORT: u16 = 6379;
const DEFAULT_SENTINEL_PORT: u16 = 26379;

impl RedisAddress {
    /// Parses the URL; the error says what is wrong without repeating the password.
    pub fn parse(url: &str) -> Result<Self, String> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(
                "is not a URL (expected redis://, rediss://, redis+cluster://, \
                        rediss+cluster://, redis+sentinel:// or rediss+sentinel://)"
                    .into(),
            );
        };
        let (node_scheme, topology) = match scheme.split_once('+') {
            Some((node, topology)) => (node, Some(topology)),
            None => (scheme, None),
        };
        if node_scheme != "redis" && node_scheme != "rediss" {
            return Err(format!(
                "has scheme {scheme:?}; expected redis, rediss, redis+cluster, \
                 rediss+cluster, redis+sentinel or rediss+sentinel"
            ));
        }
        match topology {
            None => {
                check_node(url)?;
                Ok(RedisAddress::Node(url.to_owned()))
            }
            Some("cluster") => {
                let (credentials, hosts, path) = split(rest);
                if !path.is_empty() {
                    return Err(format!(
                        "a cluster URL takes no path (found \"/{path}\"): a cluster has one database"
                    ));
                }
                let nodes = node_urls(node_scheme, credentials, hosts, DEFAULT_PORT)?;
                Ok(RedisAddress::Cluster(nodes))
            }
            Some("sentinel") => {
                let (credentials, hosts, master) = split(rest);
                if master.is_empty() {
                    return Err("a sentinel URL needs the master name as its path \
                                (redis+sentinel://h1:p1,h2:p2/<master name>)"
                        .into());
                }
                if master.contains('/') || master.contains('?') {
                    return Err(format!(
                        "the master name {master:?} may not contain \"/\" or \"?\""
                    ));
                }
                let sentinels = node_urls(node_scheme, None, hosts, DEFAULT_SENTINEL_PORT)?;
                let primary = node_url(node_scheme, credentials, "primary");
                check_node(&primary)?;
                Ok(RedisAddress::Sentinel {
                    sentinels,
                    master: master.to_owned(),
                    primary,
                })
            }
            Some(other) => Err(format!(
                "has scheme {scheme:?}: \"+{other}\" is neither +cluster nor +sentinel"
            )),
        }
    }

    /// "node", "cluster" or "sentinel", for logs.
    pub fn topology(&self) -> &'static str {
        match self {
            RedisAddress::Node(_) => "node",
            RedisAddress::Cluster(_) => "cluster",
            RedisAddress::Sentinel { .. } => "sentinel",
        }
    }
}

/// `[credentials@]hosts[/path]` → (credentials, hosts, path).
fn split(rest: &str) -> (Option<&str>, &str, &str) {
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    match authority.rsplit_once('@') {
        Some((credentials, hosts)) => (Some(credentials), hosts, path),
        None => (None, authority, path),
    }
}

/// `h1:p1,h2,[::1]:p3` → `["h1:p1", "h2:<default>", "[::1]:p3"]`, with clear errors.
fn hosts_of(hosts: &str, default_port: u16) -> Result<Vec<String>, String> {
    if hosts.trim().is_empty() {
        return Err("lists no host (expected h1:p1,h2:p2,…)".into());
    }
    hosts
        .split(',')
        .map(|host| {
            let host = host.trim();
            let (name, port) = match host.rsplit_once(':') {
                // An IPv6 address without a port: "[::1]".
                Some((name, port)) if !port.ends_with(']') => (name, Some(port)),
                _ => (host, None),
            };
            if name.is_empty() {
                return Err(format!("has an empty host name in {hosts:?}"));
            }
            let port = match port {
                None => default_port,
                Some(port) => port
                    .parse::<u16>()
                    .ok()
                    .filter(|port| *port != 0)
                    .ok_or_else(|| format!("has an invalid port {port:?} in {host:?}"))?,
            };
            Ok(format!("{name}:{port}"))
        })
        .collect()
}

/// One checked node URL per host of the list.
fn node_urls(
    scheme: &str,
    credentials: Option<&str>,
    hosts: &str,
    default_port: u16,
) -> Result<Vec<String>, String> {
    hosts_of(hosts, default_port)?
        .into_iter()
        .map(|host| {
            let url = node_url(scheme, credentials, &host);
            check_node(&url).map(|()| url)
        })
        .collect()
}

fn node_url(scheme: &str, credentials: Option<&str>, host: &str) -> String {
    match credentials {
        Some(credentials) => format!("{scheme}://{credentials}@{host}"),
        None => format!("{scheme}://{host}"),
    }
}

/// Checks a node URL the way the redis crate will read it. Its messages never carry the URL.
fn check_node(url: &str) -> Result<(), String> {
    url.into_connection_info()
        .map(|_| ())
        .map_err(|e| format!("is not a valid Redis URL ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_url_is_kept_as_given() {
        for url in [
            "redis://127.0.0.1:6379",
            "rediss://:secret@cache.example:6380/2",
        ] {
            assert_eq!(
                RedisAddress::parse(url).unwrap(),
                RedisAddress::Node(url.into())
            );
        }
    }

    #[test]
    fn a_cluster_url_lists_its_seed_nodes_with_the_credentials() {
        assert_eq!(
            RedisAddress::parse("redis+cluster://app:s%40cret@10.0.0.1:7000,10.0.0.2,[::1]:7002")
                .unwrap(),
            RedisAddress::Cluster(vec![
                "redis://app:s%40cret@10.0.0.1:7000".into(),
                "redis://app:s%40cret@10.0.0.2:6379".into(),
                "redis://app:s%40cret@[::1]:7002".into(),
            ])
        );
        assert_eq!(
            RedisAddress::parse("rediss+cluster://a:1").unwrap(),
            RedisAddress::Cluster(vec!["rediss://a:1".into()])
        );
    }

    #[test]
    fn a_sentinel_url_names_the_sentinels_and_the_master() {
        assert_eq!(
            RedisAddress::parse("redis+sentinel://:pw@s1:26379,s2/main").unwrap(),
            RedisAddress::Sentinel {
                sentinels: vec!["redis://s1:26379".into(), "redis://s2:26379".into()],
                master: "main".into(),
                primary: "redis://:pw@primary".into(),
            }
        );
        assert_eq!(
            RedisAddress::parse("rediss+sentinel://s1:5000/main")
                .unwrap()
                .topology(),
            "sentinel"
        );
    }

    #[test]
    fn malformed_urls_are_refused_with_the_reason() {
        for (url, reason) in [
            ("localhost:6379", "is not a URL"),
            ("http://localhost", "has scheme \"http\""),
            ("redis+shard://a:1", "neither +cluster nor +sentinel"),
            ("redis+cluster://", "lists no host"),
            ("redis+cluster://a:1,,b:2", "empty host name"),
            ("redis+cluster://a:port", "invalid port \"port\""),
            ("redis+cluster://a:70000", "invalid port \"70000\""),
            ("redis+cluster://a:1/3", "takes no path"),
            ("redis+sentinel://s1:26379", "needs the master name"),
            ("redis+sentinel://s1:26379/", "needs the master name"),
            ("redis+sentinel:///main", "lists no host"),
            ("redis+sentinel://s1/a/b", "may not contain"),
        ] {
            let error = RedisAddress::parse(url).unwrap_err();
            assert!(error.contains(reason), "{url}: {error}");
        }
    }

    #[test]
    fn errors_do_not_repeat_the_password() {
        for url in [
            "redis+cluster://u:topsecret@a:nope",
            "redis+sentinel://u:topsecret@s1:26379",
            "redis://u:topsecret@a:99999",
        ] {
            let error = RedisAddress::parse(url).unwrap_err();
            assert!(!error.contains("topsecret"), "{url}: {error}");
        }
    }
}
