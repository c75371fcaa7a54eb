//! The SSRF guard of outgoing webhooks: which URLs may be registered and which addresses the
//! service may connect to. A webhook URL is chosen by a tenant, so without this guard a tenant
//! could make the service call its own database, a cloud metadata endpoint or anything else on
//! the internal network. Addresses are checked after DNS resolution, at every send, and the
//! connection goes to the checked address (see `services::webhook_worker`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::Url;

pub const MAX_URL_LENGTH: usize = 2048;

/// Why an address is not a public unicast one; `None` for a public address.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    let reason = match o {
        [0, ..] => "unspecified (0.0.0.0/8)",
        [127, ..] => "loopback",
        [10, ..] => "private (10.0.0.0/8)",
        [172, b, ..] if (16..=31).contains(&b) => "private (172.16.0.0/12)",
        [192, 168, ..] => "private (192.168.0.0/16)",
        [169, 254, ..] => "link-local (169.254.0.0/16, cloud metadata)",
        [100, b, ..] if (64..=127).contains(&b) => "carrier-grade NAT (100.64.0.0/10)",
        [192, 0, 0, _] => "IETF protocol assignments (192.0.0.0/24)",
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => "documentation",
        [198, 18..=19, ..] => "benchmarking (198.18.0.0/15)",
        [192, 88, 99, _] => "6to4 relay anycast",
        [a, ..] if a >= 240 => "reserved (240.0.0.0/4) or broadcast",
        [a, ..] if (224..=239).contains(&a) => "multicast",
        _ => return None,
    };
    Some(reason)
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified (::)");
    }
    if ip.is_loopback() {
        return Some("loopback (::1)");
    }
    // Addresses that carry an IPv4 address: judged by that address.
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if s[..5] == [0, 0, 0, 0, 0] && (s[5] == 0xffff || s[5] == 0) {
        // IPv4-mapped ::ffff:a.b.c.d and the deprecated IPv4-compatible ::a.b.c.d.
        return v4_reason(embedded_v4(s[6], s[7])).map(|_| "IPv4-mapped non-public address").or(if s[5] == 0 {
            Some("IPv4-compatible (deprecated)")
        } else {
            None
        });
    }
    if s[0] == 0x64 && s[1] == 0xff9b {
        // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48).
        return v4_reason(embedded_v4(s[6], s[7])).map(|_| "NAT64 of a non-public address").or(if s[2] == 1 {
            Some("NAT64 local use (64:ff9b:1::/48)")
        } else {
            None
        });
    }
    if s[0] == 0x2002 {
        // 6to4 embeds the IPv4 address in the second and third segments.
        return v4_reason(embedded_v4(s[1], s[2])).map(|_| "6to4 of a non-public address");
    }
    let reason = match s[0] {
        a if a & 0xfe00 == 0xfc00 => "unique local (fc00::/7)",
        a if a & 0xffc0 == 0xfe80 => "link-local (fe80::/10)",
        a if a & 0xffc0 == 0xfec0 => "site-local (fec0::/10, deprecated)",
        a if a & 0xff00 == 0xff00 => "multicast (ff00::/8)",
        0x2001 if s[1] == 0x0db8 => "documentation (2001:db8::/32)",
        0x2001 if s[1] == 0 => "Teredo (2001::/32)",
        0x2001 if s[1] < 0x200 => "IETF protocol assignments (2001::/23)",
        0x0100 if s[1..4] == [0, 0, 0] => "discard-only (100::/64)",
        _ => return None,
    };
    Some(reason)
}

/// Host names that are private by definition, refused at registration without a DNS lookup.
fn private_host_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "localhost"
        || h.ends_with(".localhost")
        || h.ends_with(".local")
        || h.ends_with(".internal")
        || h.ends_with(".home.arpa")
        || h == "metadata"
        || !h.contains('.')
}

/// Checks a webhook URL when it is registered: http(s), a host, no credentials, and, unless
/// the tenant allows private targets, no address literal or well-known name that is private.
/// Returns the normalised URL. DNS is not consulted here; the sender checks every resolution.
pub fn validate_url(raw: &str, allow_private: bool) -> Result<Url, String> {
    let raw = raw.trim();
    if raw.len() > MAX_URL_LENGTH {
        return Err(format!("at most {MAX_URL_LENGTH} characters"));
    }
    let url = Url::parse(raw).map_err(|e| format!("not a valid URL: {e}"))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err("only http and https URLs are allowed".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials in the URL are not allowed; use a secret path or verify the signature".into());
    }
    if url.fragment().is_some() {
        return Err("a fragment (#...) is not sent over HTTP".into());
    }
    let Some(host) = url.host() else { return Err("the URL needs a host".into()) };
    if !allow_private {
        let reason = match host {
            url::Host::Ipv4(ip) => non_public_reason(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => non_public_reason(IpAddr::V6(ip)),
            url::Host::Domain(name) => private_host_name(name).then_some("a private host name"),
        };
        if let Some(reason) = reason {
            return Err(format!(
                "the target is {reason}; private targets are refused unless the tenant allows them \
                 (PUT /webhook-settings allow_private_targets)"
            ));
        }
    }
    Ok(url)
}

/// The first address that may not be connected to, with the reason.
pub fn refused(addrs: &[IpAddr], allow_private: bool) -> Option<(IpAddr, &'static str)> {
    if allow_private {
        return None;
    }
    addrs.iter().find_map(|ip| non_public_reason(*ip).map(|r| (*ip, r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> Option<&'static str> {
        non_public_reason(s.parse().unwrap())
    }

    #[test]
    fn classifies_addresses() {
        for private in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
        ] {
            assert!(reason(private).is_some(), "{private} must be refused");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(reason(public), None, "{public} is public");
        }
    }

    #[test]
    fn validates_urls() {
        assert!(validate_url("https://hooks.example.com/in?x=1", false).is_ok());
        assert!(validate_url("http://hooks.example.com:8443/in", false).is_ok());
        for bad in [
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "not a url",
            "https://127.0.0.1/x",
            "http://[::1]:80/",
            "http://localhost:3000/",
            "http://169.254.169.254/latest/meta-data",
            "http://0x7f000001/",
            "http://2130706433/",
            "http://intranet/",
            "http://db.internal/",
        ] {
            assert!(validate_url(bad, false).is_err(), "{bad} must be refused");
        }
        assert!(validate_url("http://127.0.0.1:9/x", true).is_ok());
        assert!(validate_url("http://localhost:9/x", true).is_ok());
        assert!(validate_url("ftp://127.0.0.1/", true).is_err());
    }
}
