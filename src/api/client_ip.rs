//! The client's IP address, for the per-IP budgets (rate limit, login throttling). The peer
//! of the TCP connection, unless that peer is a reverse proxy listed in
//! `DUIZHANG_TRUSTED_PROXIES`: then the nearest address in `X-Forwarded-For` that is not one
//! of those proxies. Forwarded headers from anyone else are ignored, or every request could
//! claim a fresh address and a fresh budget.

use actix_web::HttpRequest;
use std::net::IpAddr;

pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip())?;
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    // Each proxy appends the address it received the request from: read from the right and
    // stop at the first hop that is not ours.
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|hop| hop.trim().parse::<IpAddr>())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    Some(forwarded.into_iter().rev().find(|ip| !trusted_proxies.contains(ip)).unwrap_or(peer))
}
