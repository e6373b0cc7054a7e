//! The portal's origin (scheme, host, port): the kiosk may navigate within it and its
//! credentials go to it and nowhere else.
//!
//! A small parser rather than a URL crate: we only need the authority of absolute
//! `http(s)` URLs, and comparing origins the way browsers do (scheme and host
//! case-insensitive, the default port implied).

use std::fmt;

use super::Credentials;

/// `scheme://host:port` of an http(s) URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`, lower case.
    pub scheme: String,
    /// Lower case; an IPv6 literal keeps its brackets.
    pub host: String,
    /// Explicit, or the scheme's default.
    pub port: u16,
}

impl Origin {
    /// The origin of an absolute `http`/`https` URL; `None` for anything else
    /// (`about:`, `data:`, `file:`, relative URLs, a bad port).
    pub fn of(url: &str) -> Option<Origin> {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = authority_of(rest);
        // Userinfo ends at the last '@' of the authority.
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
        let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
            let (inside, after) = v6.split_once(']')?;
            (format!("[{inside}]"), after)
        } else {
            match host_port.rsplit_once(':') {
                Some((h, _)) => (h.to_owned(), &host_port[h.len()..]),
                None => (host_port.to_owned(), ""),
            }
        };
        let port = match port.strip_prefix(':') {
            None if port.is_empty() => default_port,
            None => return None,
            Some("") => default_port,
            Some(p) => p.parse().ok()?,
        };
        if host.is_empty() || host == "[]" {
            return None;
        }
        Some(Origin {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// Whether `url` is on this origin.
    pub fn contains(&self, url: &str) -> bool {
        Origin::of(url).as_ref() == Some(self)
    }

    /// `host:port`, what a TCP connection to the origin dials.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// A URL without its query and fragment, for logs: the kiosk page's query carries the
/// bridge's secret token.
pub fn without_query(url: &str) -> &str {
    url.find(['?', '#']).map_or(url, |i| &url[..i])
}

/// The authority part of what follows `scheme://`.
fn authority_of(rest: &str) -> &str {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    &rest[..end]
}

/// Moves `user:password@` out of a URL: the URL without it, and the decoded credentials.
/// A URL without `://` or without userinfo comes back unchanged.
pub(crate) fn split_credentials(url: &str) -> (String, Option<Credentials>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let authority = authority_of(rest);
    let Some((userinfo, host_port)) = authority.rsplit_once('@') else {
        return (url.to_owned(), None);
    };
    let (login, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let clean = format!("{scheme}://{host_port}{}", &rest[authority.len()..]);
    let credentials = Credentials {
        login: percent_decode(login),
        password: percent_decode(password),
    };
    (clean, Some(credentials))
}

/// `%XX` escapes to bytes; anything malformed stays as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(scheme: &str, host: &str, port: u16) -> Option<Origin> {
        Some(Origin {
            scheme: scheme.into(),
            host: host.into(),
            port,
        })
    }

    #[test]
    fn origins_of_urls() {
        assert_eq!(
            Origin::of("http://127.0.0.1:8404/kiosk?x=1"),
            o("http", "127.0.0.1", 8404)
        );
        assert_eq!(
            Origin::of("HTTP://Example.COM"),
            o("http", "example.com", 80)
        );
        assert_eq!(Origin::of("https://a.b/#x"), o("https", "a.b", 443));
        assert_eq!(Origin::of("http://u:p@h:81/"), o("http", "h", 81));
        assert_eq!(Origin::of("http://[::1]:9/"), o("http", "[::1]", 9));
        assert_eq!(Origin::of("http://[::1]/"), o("http", "[::1]", 80));
        assert_eq!(Origin::of("http://h:/"), o("http", "h", 80));
    }

    #[test]
    fn not_origins() {
        for url in [
            "about:blank",
            "data:text/html,hi",
            "file:///etc/passwd",
            "/kiosk",
            "http://",
            "http://h:99999/",
            "http://h:x/",
            "ftp://h/",
        ] {
            assert_eq!(Origin::of(url), None, "{url}");
        }
    }

    #[test]
    fn same_origin_means_scheme_host_and_port() {
        let portal = Origin::of("http://127.0.0.1:8404/kiosk").unwrap();
        assert!(portal.contains("http://127.0.0.1:8404/api/kiosk/v1/state"));
        assert!(!portal.contains("http://127.0.0.2:8404/"));
        assert!(!portal.contains("http://127.0.0.1:8405/"));
        assert!(!portal.contains("https://127.0.0.1:8404/"));
        // The classic trick: the real host is after the '@'.
        assert!(!portal.contains("http://127.0.0.1:8404@evil.example/"));
        assert!(!portal.contains("about:blank"));
    }

    #[test]
    fn credentials_leave_the_url() {
        let (url, c) = split_credentials("http://kiosk:p%3Aw@h:1/a@b?c");
        assert_eq!(url, "http://h:1/a@b?c");
        let c = c.unwrap();
        assert_eq!((c.login.as_str(), c.password.as_str()), ("kiosk", "p:w"));
        let (url, c) = split_credentials("http://h:1/a@b");
        assert_eq!(url, "http://h:1/a@b");
        assert!(c.is_none());
    }

    #[test]
    fn logged_urls_lose_their_query() {
        assert_eq!(
            without_query("http://h:1/kiosk?bridge=ws%3A%2F%2Fx%3Ftoken%3Dsecret"),
            "http://h:1/kiosk"
        );
        assert_eq!(without_query("http://h/a#b"), "http://h/a");
        assert_eq!(without_query("http://h/a"), "http://h/a");
    }

    #[test]
    fn percent_decoding_keeps_what_it_cannot_read() {
        assert_eq!(percent_decode("a%20b%zz%4"), "a b%zz%4");
    }
}
