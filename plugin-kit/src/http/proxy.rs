//! The proxy the environment names for a scheme, read as curl reads it: `HTTPS_PROXY` for
//! `https://` URLs, `HTTP_PROXY` for `http://` ones, `ALL_PROXY` for either when its own is
//! unset (each in upper or lower case), and `NO_PROXY`'s hosts direct. (ureq's own reading
//! takes the first of them for every scheme: an `HTTPS_PROXY` set for other tools would carry
//! a plain `http://` endpoint's requests too.)

use std::env;

use http::Uri;
use percent_encoding::percent_decode_str;
use ureq::{Proxy, ProxyProtocol};

/// The proxy for `https` or plain `http` URLs by the process's environment; `None` when no
/// variable names one, or names something that is not a proxy URL.
pub(super) fn from_env(https: bool) -> Option<Proxy> {
    for_scheme(https, |name| env::var(name).ok())
}

/// [`from_env`] over the variables `var` gives.
fn for_scheme(https: bool, var: impl Fn(&str) -> Option<String>) -> Option<Proxy> {
    let own: [&str; 2] = if https {
        ["HTTPS_PROXY", "https_proxy"]
    } else {
        ["HTTP_PROXY", "http_proxy"]
    };
    let url = own
        .into_iter()
        .chain(["ALL_PROXY", "all_proxy"])
        .find_map(|name| var(name).filter(|value| !value.trim().is_empty()))?;
    let url = url.trim();
    let uri: Uri = if url.contains("://") {
        url.parse().ok()?
    } else {
        format!("http://{url}").parse().ok()?
    };
    let authority = uri.authority()?;
    let protocol = ProxyProtocol::try_from(uri.scheme_str()?).ok()?;
    let mut proxy = Proxy::builder(protocol).host(authority.host());
    if let Some(port) = authority.port_u16() {
        proxy = proxy.port(port);
    }
    if let Some((user_info, _)) = authority.as_str().rsplit_once('@') {
        let (user, password) = user_info.split_once(':').unwrap_or((user_info, ""));
        proxy = proxy.username(&percent_decode_str(user).decode_utf8_lossy());
        if !password.is_empty() {
            proxy = proxy.password(&percent_decode_str(password).decode_utf8_lossy());
        }
    }
    let no_proxy = var("NO_PROXY")
        .or_else(|| var("no_proxy"))
        .unwrap_or_default();
    for host in no_proxy
        .split(',')
        .map(str::trim)
        .filter(|host| !host.is_empty())
    {
        proxy = proxy.no_proxy(host);
    }
    proxy.build().ok()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn proxy_for(https: bool, vars: &[(&str, &str)]) -> Option<Proxy> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        for_scheme(https, |name| vars.get(name).map(|value| value.to_string()))
    }

    #[test]
    fn each_scheme_takes_its_own_variable_then_all_proxy() {
        let vars = [("HTTPS_PROXY", "http://tls-proxy:3128")];
        assert_eq!(proxy_for(true, &vars).unwrap().host(), "tls-proxy");
        assert!(proxy_for(false, &vars).is_none(), "http:// goes direct");

        let vars = [
            ("http_proxy", "plain-proxy:8080"),
            ("ALL_PROXY", "socks5://any:1080"),
        ];
        let plain = proxy_for(false, &vars).unwrap();
        assert_eq!((plain.host(), plain.port()), ("plain-proxy", 8080));
        let tls = proxy_for(true, &vars).unwrap();
        assert_eq!((tls.host(), tls.protocol()), ("any", ProxyProtocol::Socks5));
        assert!(proxy_for(true, &[]).is_none());
    }

    #[test]
    fn credentials_and_no_proxy_are_read() {
        let proxy = proxy_for(
            false,
            &[
                ("HTTP_PROXY", "http://us%40er:p%3Ass@proxy:3128"),
                ("NO_PROXY", "localhost, .internal"),
            ],
        )
        .unwrap();
        assert_eq!(proxy.username(), Some("us@er"));
        assert_eq!(proxy.password(), Some("p:ss"));
        let direct = |url: &str| proxy.is_no_proxy(&url.parse().unwrap());
        assert!(direct("http://localhost:8080/"));
        assert!(direct("http://odps.internal/api"));
        assert!(!direct("http://service.odps.aliyun.com/api"));
    }
}
