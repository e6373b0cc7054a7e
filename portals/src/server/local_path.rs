//! Where a "go back" link may send the browser: only to a path on this same site.
//!
//! The language switch (`/lang?to=en&back=…`) redirects to `back`. Taken as given, that is
//! an open redirect: `//evil.com`, `/\evil.com` (browsers read a backslash as a slash),
//! `/<TAB>/evil.com` (browsers drop tabs and newlines from URLs), `https://evil.com`, and
//! their percent-encoded forms, which a proxy or a second decode may turn back into one of
//! those. [`same_site_path`] accepts a path only if it is plainly local, and stays local
//! however many times it is decoded; anything else gives `None` and the caller uses `/`.

/// Longest path accepted; a longer one is not a page of ours.
pub const MAX_PATH_LEN: usize = 2_048;
/// How many rounds of percent-decoding are checked (`%25` hides one more round).
const DECODE_ROUNDS: usize = 3;

/// `Some(path)` if `candidate` is a path on this site that no browser can read as another
/// site's URL; `None` otherwise.
pub fn same_site_path(candidate: &str) -> Option<&str> {
    if candidate.len() > MAX_PATH_LEN {
        return None;
    }
    if !plainly_local(candidate) {
        return None;
    }
    let mut text = candidate.to_owned();
    for _ in 0..DECODE_ROUNDS {
        // A decoded form may hold spaces and the like (`/a%20b`); it only has to stay
        // a path of this site when a browser resolves it.
        if !text.starts_with('/') || !resolves_here(&text) {
            return None;
        }
        let decoded = percent_encoding::percent_decode_str(&text)
            .decode_utf8()
            .ok()?
            .into_owned();
        if decoded == text {
            return Some(candidate);
        }
        text = decoded;
    }
    // Still changing after several decodes: nobody needs that for a page of ours.
    None
}

/// Starts with exactly one `/`, and holds only visible ASCII without backslashes: no
/// scheme, no authority, nothing a browser strips or rewrites.
fn plainly_local(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
}

/// Resolved as a browser would (the WHATWG URL parser) against a page of this site, it
/// stays on this site.
fn resolves_here(path: &str) -> bool {
    const HERE: &str = "http://same-site.invalid/lang";
    let Ok(base) = url::Url::parse(HERE) else {
        return false;
    };
    base.join(path).is_ok_and(|target| {
        target.scheme() == base.scheme()
            && target.host_str() == base.host_str()
            && target.port() == base.port()
            && target.username().is_empty()
            && target.password().is_none()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_pass_unchanged() {
        for ok in [
            "/",
            "/agents",
            "/payments?status=pending&from=2026-11-01",
            "/kiosk?bridge=ws%3A%2F%2F127.0.0.1%3A8910%2Fccnet",
            "/a%20b",
        ] {
            assert_eq!(same_site_path(ok), Some(ok), "{ok}");
        }
    }

    #[test]
    fn other_sites_and_their_disguises_are_refused() {
        for bad in [
            "",
            "agents",
            "//evil.com",
            "///evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            "/\t/evil.com",
            "/\n/evil.com",
            "/ /evil.com",
            "https://evil.com",
            "http:evil.com",
            "javascript:alert(1)",
            "/%2F%2Fevil.com",
            "%2F%2Fevil.com",
            "/%5Cevil.com",
            "/%09/evil.com",
            "/%252F%252Fevil.com",
            "/%25252F%25252Fevil.com",
            "/agents\r\nSet-Cookie: x=y",
            "/страница",
        ] {
            assert_eq!(same_site_path(bad), None, "{bad:?}");
        }
        assert_eq!(
            same_site_path(&format!("/{}", "a".repeat(MAX_PATH_LEN))),
            None
        );
    }
}
