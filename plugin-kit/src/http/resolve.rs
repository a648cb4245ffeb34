//! The HTTP client's resolver: getaddrinfo through `dns-lookup`, so that a host that does not
//! exist is told from a DNS hiccup by getaddrinfo's error code, and reported as an
//! [`UnknownHost`] that [`super::HttpError::from_ureq`] finds in the error.

use std::io;
use std::net::{IpAddr, SocketAddr};

use dns_lookup::{AddrInfoHints, LookupErrorKind, SockType};
use http::Uri;
use ureq::config::Config;
use ureq::unversioned::resolver::{self, ResolvedSocketAddrs};
use ureq::unversioned::transport::NextTimeout;

/// The host name does not exist (NXDOMAIN, or no address records): no retry can help.
#[derive(Debug, thiserror::Error)]
#[error("unknown host {host}: {source}")]
pub struct UnknownHost {
    pub host: String,
    source: io::Error,
}

/// What a lookup gives: addresses, an unknown host (an `io::Error` holding an
/// [`UnknownHost`]), or another, perhaps passing, failure.
pub(crate) type LookupResult = io::Result<Vec<IpAddr>>;

/// Resolves with `lookup` on the request's own thread (a blocking client has nothing else to
/// do meanwhile); an address in the URL is taken as it is.
#[derive(Debug)]
pub(crate) struct Resolver {
    pub(crate) lookup: fn(&str) -> LookupResult,
}

impl resolver::Resolver for Resolver {
    fn resolve(
        &self,
        uri: &Uri,
        _config: &Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let authority = uri
            .authority()
            .ok_or_else(|| ureq::Error::BadUri(format!("{uri} has no host")))?;
        let port = authority
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        let host = authority.host();
        let addresses = match host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(address) => vec![address],
            Err(_) => (self.lookup)(host).map_err(ureq::Error::Io)?,
        };
        let mut resolved = self.empty();
        for address in addresses {
            // ureq keeps the first 16 addresses: the rest are left out.
            if resolved.try_push(SocketAddr::new(address, port)).is_err() {
                break;
            }
        }
        if resolved.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(resolved)
    }
}

/// getaddrinfo for stream sockets; `EAI_NONAME` and `EAI_NODATA` are an [`UnknownHost`],
/// anything else (`EAI_AGAIN`: the DNS server did not answer) an `io::Error` worth a retry.
pub(crate) fn getaddrinfo(host: &str) -> LookupResult {
    let hints = AddrInfoHints {
        socktype: SockType::Stream.into(),
        ..AddrInfoHints::default()
    };
    match dns_lookup::getaddrinfo(Some(host), None, Some(hints)) {
        Ok(found) => found
            .map(|info| info.map(|info| info.sockaddr.ip()))
            .collect::<io::Result<Vec<_>>>(),
        Err(error)
            if matches!(
                error.kind(),
                LookupErrorKind::NoName | LookupErrorKind::NoData
            ) =>
        {
            Err(io::Error::other(UnknownHost {
                host: host.to_string(),
                source: error.into(),
            }))
        }
        Err(error) => Err(io::Error::from(error)),
    }
}

#[cfg(test)]
pub(crate) fn unknown_host_for_tests(host: &str) -> LookupResult {
    Err(io::Error::other(UnknownHost {
        host: host.to_string(),
        source: io::Error::other("Name or service not known"),
    }))
}
