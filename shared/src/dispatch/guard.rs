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
            if v6.is_loopback() || v6.is_unspecified() {
                return true;
            }
            // Forms that carry an IPv4 address a translator may reach: judged by it.
            if let Some(v4) = embedded_v4(v6) {
                return blocked_v4(v4);
            }
            let seg = v6.segments();
            v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (includes fd00:ec2::254)
                || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated, still routed by some)
                || (seg[0] == 0x2001 && seg[1] == 0x0000) // Teredo 2001::/32 (tunnels to IPv4)
                || (seg[0] == 0x0064 && seg[1] == 0xff9b) // NAT64 64:ff9b::/96 and 64:ff9b:1::/48
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        }
    }
}

/// The IPv4 address inside an IPv6 transition form: IPv4-mapped `::ffff:a.b.c.d`,
/// IPv4-compatible `::a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`
/// and the local-use `64:ff9b:1::/48`, and 6to4 `2002:aabb:ccdd::/48`.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    match s {
        [0, 0, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),           // ::a.b.c.d
        [0, 0, 0, 0, 0xffff, 0, hi, lo] => Some(low(hi, lo)),      // ::ffff:0:a.b.c.d
        [0x0064, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)), // 64:ff9b::/96
        [0x0064, 0xff9b, 1, _, _, _, hi, lo] => Some(low(hi, lo)), // 64:ff9b:1::/48
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),                 // 6to4 2002::/16
        _ => None,
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
            // Review L3: IPv6 transition forms that reach IPv4 through a translator.
            "::169.254.169.254",
            "::a9fe:a9fe",
            "2002:a9fe:a9fe::",
            "2002:0a00:0001::1",
            "64:ff9b::10.0.0.1",
            "64:ff9b:1::a9fe:a9fe",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "::ffff:0:169.254.169.254",
            "::ffff:0:7f00:1",
            "fec0::1",
        ] {
            assert!(is_blocked_range(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "100.128.0.1",
            "2002:5db8:d822::1",
            "64:ff9b::5db8:d822",
        ] {
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
