//! The SSRF guard: outbound connections never reach private, loopback, link-local, CGNAT,
//! metadata or unique-local addresses unless an allow-list opens them. Names are checked
//! after DNS resolution, inside the HTTP client's resolver, so the address checked is the
//! address connected to (a rebinding name cannot pass); literal IPs are checked before
//! the request is made. Redirects are never followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// CIDRs that are reachable despite being in a blocked range.
#[derive(Debug, Clone, Default)]
pub struct AllowList(Vec<IpNet>);

impl AllowList {
    /// Comma-separated CIDRs (`127.0.0.0/8,::1/128`); a bare address is a /32 or /128.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let net = part
                .parse::<IpNet>()
                .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{part:?} is not a CIDR or an IP address"))?;
            nets.push(net);
        }
        Ok(Self(nets))
    }

    pub fn loopback() -> Self {
        Self::parse("127.0.0.0/8,::1/128").expect("valid CIDRs")
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for AllowList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

/// Whether an address is in a range outbound calls must not reach.
pub fn is_blocked_range(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return blocked_v4(v4);
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (includes fd00:ec2::254)
                || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg[0] == 0x64 && seg[1] == 0xff9b) // NAT64 64:ff9b::/96 maps to IPv4
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        }
    }
}

fn blocked_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local() // 169.254/16, with the metadata service 169.254.169.254
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

/// Why a target was refused.
#[derive(Debug, Clone, thiserror::Error)]
#[error("target address {0} is not allowed (private, loopback, link-local or metadata range)")]
pub struct Blocked(pub IpAddr);

/// Checks one address against the ranges and the allow-list.
pub fn check(ip: IpAddr, allow: &AllowList) -> Result<(), Blocked> {
    if is_blocked_range(ip) && !allow.contains(ip) { Err(Blocked(ip)) } else { Ok(()) }
}

/// A resolver that drops blocked addresses; a name with only blocked addresses fails.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub allow: Arc<AllowList>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs.iter().copied().filter(|a| check(a.ip(), &allow).is_ok()).collect();
            if allowed.is_empty() {
                let ip = addrs.first().map(SocketAddr::ip).unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
                return Err(Box::new(Blocked(ip)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_ranges() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "fc00::1",
            "255.255.255.255",
        ] {
            assert!(is_blocked_range(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "100.128.0.1"] {
            assert!(!is_blocked_range(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn allow_list_opens_ranges() {
        let allow = AllowList::parse("127.0.0.0/8, ::1").unwrap();
        assert!(check("127.0.0.1".parse().unwrap(), &allow).is_ok());
        assert!(check("::1".parse().unwrap(), &allow).is_ok());
        assert!(check("10.0.0.1".parse().unwrap(), &allow).is_err());
        assert!(check("169.254.169.254".parse().unwrap(), &AllowList::default()).is_err());
        assert!(AllowList::parse("nope").is_err());
    }
}
