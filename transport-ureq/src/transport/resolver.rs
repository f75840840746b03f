//! Host name resolution without a thread per call, with a short cache.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use ureq::http;

/// The address of an `http://` or `https://` URI whose host is an IP address.
pub(super) fn ip_literal(uri: &http::Uri) -> Option<std::net::SocketAddr> {
    let default_port = match uri.scheme_str()? {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let host = uri.host()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip: IpAddr = host.parse().ok()?;
    Some(std::net::SocketAddr::new(
        ip,
        uri.port_u16().unwrap_or(default_port),
    ))
}

/// How long [`CachingResolver`] keeps a host name's addresses.
pub(super) const RESOLVE_CACHE_TTL: Duration = Duration::from_secs(10);

/// Host names the resolver remembers at once (a transport talks to one or two hosts).
pub(super) const RESOLVE_CACHE_ENTRIES: usize = 8;

/// ureq's resolver without a thread per call.
///
/// ureq resolves the host before every request, even when it then reuses a pooled connection,
/// and with a deadline set its default resolver spawns a thread for each lookup: that thread
/// was most of the client CPU of a KMS call over a kept-alive connection. IP literals
/// (emulators, VPC endpoint addresses) are parsed without a thread, and a name's addresses
/// are reused for [`RESOLVE_CACHE_TTL`]; they are only used to open new connections.
#[derive(Debug, Default)]
pub(super) struct CachingResolver {
    inner: ureq::unversioned::resolver::DefaultResolver,
    cache: std::sync::Mutex<Vec<ResolvedName>>,
}

#[derive(Debug)]
pub(super) struct ResolvedName {
    host_and_port: String,
    at: Instant,
    addrs: ureq::unversioned::resolver::ResolvedSocketAddrs,
}

impl ureq::unversioned::resolver::Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        use ureq::unversioned::resolver::DefaultResolver;
        if let Some(addr) = ip_literal(uri) {
            // No lookup happens, so no thread, no deadline and no allocation are needed.
            let mut addrs = self.empty();
            for wanted in config.ip_family().keep_wanted(std::iter::once(addr)) {
                addrs.push(wanted);
            }
            return if addrs.is_empty() {
                Err(ureq::Error::HostNotFound)
            } else {
                Ok(addrs)
            };
        }
        let key = match (uri.scheme(), uri.authority()) {
            (Some(scheme), Some(authority)) => DefaultResolver::host_and_port(scheme, authority),
            _ => None,
        };
        let Some(key) = key else {
            // Let ureq report the malformed URI.
            return self.inner.resolve(uri, config, timeout);
        };
        let now = Instant::now();
        if let Ok(cache) = self.cache.lock()
            && let Some(hit) = cache.iter().find(|e| e.host_and_port == key)
            && now.duration_since(hit.at) < RESOLVE_CACHE_TTL
        {
            return Ok(hit.addrs.clone());
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        if let Ok(mut cache) = self.cache.lock() {
            cache
                .retain(|e| e.host_and_port != key && now.duration_since(e.at) < RESOLVE_CACHE_TTL);
            if cache.len() >= RESOLVE_CACHE_ENTRIES {
                cache.remove(0);
            }
            cache.push(ResolvedName {
                host_and_port: key,
                at: now,
                addrs: addrs.clone(),
            });
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_parses_ip_literals_and_caches_names() {
        use ureq::unversioned::resolver::Resolver as _;
        use ureq::unversioned::transport::NextTimeout;
        use ureq::unversioned::transport::time::Duration as UreqDuration;

        let resolver = CachingResolver::default();
        let config = ureq::config::Config::default();
        let timeout = NextTimeout {
            after: UreqDuration::from_secs(2),
            ..NextTimeout::default()
        };
        let literal: http::Uri = "http://127.0.0.1:4566/".parse().unwrap();
        let addrs = resolver.resolve(&literal, &config, timeout).unwrap();
        assert_eq!(addrs.len(), 1);
        assert_eq!(addrs[0], "127.0.0.1:4566".parse().unwrap());
        let v6: http::Uri = "https://[::1]/".parse().unwrap();
        let addrs = resolver.resolve(&v6, &config, timeout).unwrap();
        assert_eq!(addrs[0], "[::1]:443".parse().unwrap());
        assert!(
            resolver.cache.lock().unwrap().is_empty(),
            "literals are not cached"
        );
        let v4_only = ureq::config::Config::builder()
            .ip_family(ureq::config::IpFamily::Ipv4Only)
            .build();
        assert!(matches!(
            resolver.resolve(&v6, &v4_only, timeout),
            Err(ureq::Error::HostNotFound)
        ));

        let name: http::Uri = "http://localhost:4566/".parse().unwrap();
        let first = resolver.resolve(&name, &config, timeout).unwrap();
        let at = resolver.cache.lock().unwrap()[0].at;
        let second = resolver.resolve(&name, &config, timeout).unwrap();
        assert_eq!(first, second);
        let cache = resolver.cache.lock().unwrap();
        assert_eq!(cache.len(), 1);
        assert_eq!(cache[0].host_and_port, "localhost:4566");
        assert_eq!(cache[0].at, at, "the second lookup came from the cache");
    }
}
