//! The HTTP client's resolver: getaddrinfo through `dns-lookup`, so that a host that does not
//! exist is told from a DNS hiccup by getaddrinfo's error code, and reported as an
//! [`UnknownHost`] that [`super::HttpError::from_reqwest`] finds in the error's source chain.

use std::io;
use std::net::{IpAddr, SocketAddr};

use dns_lookup::{AddrInfoHints, LookupErrorKind, SockType};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The host name does not exist (NXDOMAIN, or no address records): no retry can help.
#[derive(Debug, thiserror::Error)]
#[error("unknown host {host}: {source}")]
pub struct UnknownHost {
    pub host: String,
    source: io::Error,
}

/// What a lookup gives: addresses, an unknown host, or another (perhaps passing) failure.
pub(crate) type LookupResult = Result<Vec<IpAddr>, Box<dyn std::error::Error + Send + Sync>>;

/// Resolves with `lookup` on tokio's blocking pool (reqwest's blocking client runs on a tokio
/// runtime, which a blocking getaddrinfo would stall).
pub(crate) struct Resolver {
    pub(crate) lookup: fn(&str) -> LookupResult,
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let lookup = self.lookup;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addresses = tokio::task::spawn_blocking(move || lookup(&host)).await??;
            let addrs: Addrs = Box::new(
                addresses
                    .into_iter()
                    .map(|address| SocketAddr::new(address, 0)),
            );
            Ok(addrs)
        })
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
        Ok(found) => Ok(found
            .map(|info| info.map(|info| info.sockaddr.ip()))
            .collect::<io::Result<Vec<_>>>()?),
        Err(error)
            if matches!(
                error.kind(),
                LookupErrorKind::NoName | LookupErrorKind::NoData
            ) =>
        {
            Err(Box::new(UnknownHost {
                host: host.to_string(),
                source: error.into(),
            }))
        }
        Err(error) => Err(Box::new(io::Error::from(error))),
    }
}

#[cfg(test)]
pub(crate) fn unknown_host_for_tests(host: &str) -> LookupResult {
    Err(Box::new(UnknownHost {
        host: host.to_string(),
        source: io::Error::other("Name or service not known"),
    }))
}
