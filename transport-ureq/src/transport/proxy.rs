//! Proxy selection from `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY`, as curl and
//! the AWS CLI read them.
//!
//! ureq's own `Proxy::try_from_env` takes the first of `ALL_PROXY`, `HTTPS_PROXY`,
//! `HTTP_PROXY` whatever the request's scheme, and its `NO_PROXY` matches `.example.com` only
//! below `example.com`, never a bare domain's subdomains, an IP range or a port. Here:
//!
//! - an `https://` request uses `https_proxy`, else `HTTPS_PROXY`, else `all_proxy` /
//!   `ALL_PROXY`; an `http://` request the same with `http_proxy` / `HTTP_PROXY` (lower case
//!   first, as curl and Python do; an empty variable counts as unset);
//! - `no_proxy` (else `NO_PROXY`) is a comma-separated list of: `*` (no proxy at all), a domain
//!   (`example.com`, `.example.com` and `*.example.com` all match `example.com` and every
//!   name below it), an IP address or a CIDR range (`10.0.0.0/8`, `fd00::/8`), each
//!   optionally with `:port` (`[::1]:8443` for IPv6) to match that port only.

use std::fmt;
use std::net::IpAddr;

use kms_seal_core::http::Scheme;

use super::destination::{authority_host, parse_host_ip};

/// The proxies named by the environment and the hosts that bypass them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxyRules {
    https: Option<ProxySetting>,
    http: Option<ProxySetting>,
    no_proxy: NoProxy,
}

/// One proxy URL and the variable it came from. `Debug` and `Display` never show the URL's
/// user name or password.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct ProxySetting {
    pub(super) variable: &'static str,
    pub(super) url: String,
}

impl ProxyRules {
    /// Reads the variables through `lookup` (the process environment, or a test's map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|&variable| {
                lookup(variable)
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .map(|url| ProxySetting { variable, url })
            })
        };
        ProxyRules {
            https: first(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]),
            http: first(&["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]),
            no_proxy: ["no_proxy", "NO_PROXY"]
                .iter()
                .find_map(|name| lookup(name))
                .map(|list| NoProxy::parse(&list))
                .unwrap_or_default(),
        }
    }

    /// Reads the variables from the process environment.
    pub fn from_process_env() -> Self {
        ProxyRules::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same proxy for every request, no exceptions.
    pub(super) fn always(url: &str) -> Self {
        let setting = ProxySetting {
            variable: "the configured proxy",
            url: url.to_owned(),
        };
        ProxyRules {
            https: Some(setting.clone()),
            http: Some(setting),
            no_proxy: NoProxy::default(),
        }
    }

    /// The proxy for `https://` requests, if any.
    pub(super) fn https(&self) -> Option<&ProxySetting> {
        self.https.as_ref()
    }

    /// The proxy for `http://` requests, if any.
    pub(super) fn http(&self) -> Option<&ProxySetting> {
        self.http.as_ref()
    }

    /// The rule for `scheme` and `authority`: `None` to connect directly.
    pub fn proxy_url(&self, scheme: Scheme, authority: &str) -> Option<&str> {
        if self.bypasses(scheme, authority) {
            return None;
        }
        match scheme {
            Scheme::Https => self.https.as_ref(),
            Scheme::Http => self.http.as_ref(),
        }
        .map(|s| s.url.as_str())
    }

    /// Whether `NO_PROXY` sends requests to `authority` directly.
    pub(super) fn bypasses(&self, scheme: Scheme, authority: &str) -> bool {
        let default_port = match scheme {
            Scheme::Https => 443,
            Scheme::Http => 80,
        };
        self.no_proxy.matches(
            authority_host(authority),
            authority_port(authority, default_port),
        )
    }
}

impl fmt::Debug for ProxyRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyRules")
            .field("https", &self.https)
            .field("http", &self.http)
            .field("no_proxy_entries", &self.no_proxy.entries.len())
            .finish()
    }
}

impl fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for ProxySetting {
    /// `http://proxy.example:3128 (HTTPS_PROXY)`, credentials removed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", without_credentials(&self.url), self.variable)
    }
}

/// `url` with any `user:password@` removed, for messages.
pub(super) fn without_credentials(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

fn authority_port(authority: &str, default: u16) -> u16 {
    let after_host = match authority.rfind(']') {
        Some(i) => &authority[i + 1..],
        None if authority.matches(':').count() == 1 => {
            authority.find(':').map_or("", |i| &authority[i..])
        }
        None => "",
    };
    after_host
        .strip_prefix(':')
        .and_then(|p| p.parse().ok())
        .unwrap_or(default)
}

/// The parsed `NO_PROXY` list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct NoProxy {
    entries: Vec<NoProxyEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum NoProxyEntry {
    All,
    Domain {
        name: String,
        port: Option<u16>,
    },
    Network {
        ip: IpAddr,
        prefix: u8,
        port: Option<u16>,
    },
}

impl NoProxy {
    fn parse(list: &str) -> Self {
        NoProxy {
            entries: list.split(',').filter_map(NoProxyEntry::parse).collect(),
        }
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let ip = parse_host_ip(&host);
        self.entries.iter().any(|entry| match entry {
            NoProxyEntry::All => true,
            NoProxyEntry::Domain { name, port: p } => {
                p.is_none_or(|p| p == port)
                    && (host == *name
                        || host
                            .strip_suffix(name.as_str())
                            .is_some_and(|head| head.ends_with('.')))
            }
            NoProxyEntry::Network {
                ip: net,
                prefix,
                port: p,
            } => p.is_none_or(|p| p == port) && ip.is_some_and(|ip| in_network(ip, *net, *prefix)),
        })
    }
}

impl NoProxyEntry {
    fn parse(entry: &str) -> Option<Self> {
        let entry = entry.trim().to_ascii_lowercase();
        if entry.is_empty() {
            return None;
        }
        if entry == "*" {
            return Some(NoProxyEntry::All);
        }
        let (host, port) = split_port(&entry);
        let (address, prefix) = match host.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (host, None),
        };
        if let Some(ip) = parse_host_ip(address) {
            let full = if ip.is_ipv4() { 32 } else { 128 };
            let prefix = prefix.unwrap_or(full);
            return (prefix <= full).then_some(NoProxyEntry::Network { ip, prefix, port });
        }
        if prefix.is_some() {
            return None;
        }
        let name = host
            .trim_start_matches('*')
            .trim_start_matches('.')
            .trim_end_matches('.');
        (!name.is_empty()).then(|| NoProxyEntry::Domain {
            name: name.to_owned(),
            port,
        })
    }
}

/// `host:port`, `[v6]:port`, `[v6]`, a bare IPv6 address (several colons) or a bare host.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((ip, tail)) => (ip, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (rest, None),
        };
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn in_network(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(pairs: &[(&str, &str)]) -> ProxyRules {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxyRules::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn the_scheme_picks_the_variable_lower_case_first() {
        let r = rules(&[
            ("HTTPS_PROXY", "http://upper-s:1"),
            ("https_proxy", "http://lower-s:1"),
            ("HTTP_PROXY", "http://upper:1"),
            ("ALL_PROXY", "http://all:1"),
        ]);
        assert_eq!(r.proxy_url(Scheme::Https, "kms"), Some("http://lower-s:1"));
        assert_eq!(r.proxy_url(Scheme::Http, "kms"), Some("http://upper:1"));
        let r = rules(&[("all_proxy", "http://all:1"), ("HTTP_PROXY", "")]);
        assert_eq!(r.proxy_url(Scheme::Https, "kms"), Some("http://all:1"));
        assert_eq!(r.proxy_url(Scheme::Http, "kms"), Some("http://all:1"));
        let r = rules(&[("HTTP_PROXY", "http://plain:1")]);
        assert_eq!(r.proxy_url(Scheme::Https, "kms"), None);
        assert_eq!(rules(&[]).proxy_url(Scheme::Https, "kms"), None);
    }

    #[test]
    fn no_proxy_matches_like_curl() {
        let r = rules(&[
            ("HTTPS_PROXY", "http://p:1"),
            (
                "no_proxy",
                " example.com, .corp.internal,*.dev.test,10.0.0.0/8 ,192.168.1.7,fd00::/8,\
                 [::1]:8443,svc:4566,,bad/x",
            ),
        ]);
        let direct = |authority: &str| r.proxy_url(Scheme::Https, authority).is_none();
        for a in [
            "example.com",
            "EXAMPLE.com.",
            "kms.example.com:443",
            "corp.internal",
            "a.b.corp.internal",
            "dev.test",
            "x.dev.test",
            "10.1.2.3",
            "10.255.0.1:8443",
            "192.168.1.7",
            "[fd00:ec2::254]",
            "[::ffff:10.0.0.1]",
            "[::1]:8443",
            "svc:4566",
        ] {
            assert!(direct(a), "{a} should bypass the proxy");
        }
        for a in [
            "notexample.com",
            "example.com.evil",
            "internal",
            "11.0.0.1",
            "192.168.1.8",
            "[::1]",
            "svc",
            "svc:4567",
            "kms.us-east-1.amazonaws.com",
        ] {
            assert!(!direct(a), "{a} should use the proxy");
        }
        // Upper case is read when lower case is absent; `*` bypasses everything.
        let r = rules(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "*")]);
        assert_eq!(r.proxy_url(Scheme::Https, "kms.example"), None);
    }

    #[test]
    fn credentials_never_print() {
        let r = rules(&[("HTTPS_PROXY", "http://user:s3cret@proxy.corp:3128/")]);
        let shown = format!("{r:?} {}", r.https().unwrap());
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("user"), "{shown}");
        assert!(
            shown.contains("http://proxy.corp:3128/ (HTTPS_PROXY)"),
            "{shown}"
        );
        assert_eq!(without_credentials("proxy:1"), "proxy:1");
        assert_eq!(
            without_credentials("http://a@b@proxy:1/x@y"),
            "http://proxy:1/x@y"
        );
    }

    #[test]
    fn ports_of_authorities() {
        assert_eq!(authority_port("h", 443), 443);
        assert_eq!(authority_port("h:8443", 443), 8443);
        assert_eq!(authority_port("[::1]:80", 443), 80);
        assert_eq!(authority_port("[::1]", 443), 443);
        assert_eq!(authority_port("h:x", 443), 443);
    }
}
