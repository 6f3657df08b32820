//! `pii.ip_address` / `pii.ip_address_private`: IPv4 and IPv6 addresses parsed with `std::net`
//! and classified: public addresses identify a subscriber, the special-purpose ranges (private,
//! loopback, link-local, documentation, CGNAT, multicast, unspecified…) do not.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use glassbox_core::Family;

use crate::Rule;

/// A dotted quad, taking a version-like continuation (`.5`, `-rc1`) or a CIDR suffix into the
/// span so that the validator rejects them whole. The leading character may not be part of a
/// word, a version (`v`, `.`, `-`) or an IPv6 address (`:`).
const V4_PATTERN: &str = concat!(
    r"(?:^|[^0-9A-Za-z_.\-:])",
    r"(?P<s>[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}",
    r"(?:[.\-][0-9A-Za-z_]{1,16}){0,4}(?:/[0-9]{1,3})?)",
    r"(?-u:\b)",
);

/// Hex groups with at least two colons, ending in a hex digit (optionally an embedded dotted
/// quad) before a word boundary, or in `:` before a non-word character (`2001:db8::`).
const V6_PATTERN: &str = concat!(
    r"(?:^|[^0-9A-Za-z_.\-:])",
    r"(?P<s>[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:]{0,34}",
    r"(?:[0-9A-Fa-f](?:\.[0-9]{1,3}){0,3}(?-u:\b)|:(?-u:\B)))",
);

/// Which addresses a rule reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Globally routable unicast addresses: `pii.ip_address`.
    Public,
    /// Every special-purpose range: `pii.ip_address_private`.
    Private,
}

/// The IPv4 and IPv6 rules for one class.
pub(crate) fn rules(class: Class) -> [Rule; 2] {
    let kind = match class {
        Class::Public => "ip_address",
        Class::Private => "ip_address_private",
    };
    [
        Rule::new(Family::Pii, kind, V4_PATTERN).validate(move |s| classify(s) == Some(class)),
        Rule::new(Family::Pii, kind, V6_PATTERN).validate(move |s| classify(s) == Some(class)),
    ]
}

/// Parses `s` as one IP address and classifies it. `None` for anything that is not exactly an
/// address: versions (`1.2.3.4.5`, `1.2.3.4-rc1`), CIDR blocks (`8.8.8.0/24`: a network, not a
/// host), octets with leading zeros, times and MAC addresses, and `::` alone.
pub fn classify(s: &str) -> Option<Class> {
    if s.contains('/') {
        return None;
    }
    let addr: IpAddr = if s.contains(':') {
        if !s.bytes().any(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        IpAddr::V6(s.parse::<Ipv6Addr>().ok()?)
    } else {
        IpAddr::V4(s.parse::<Ipv4Addr>().ok()?)
    };
    Some(if is_public(addr) {
        Class::Public
    } else {
        Class::Private
    })
}

/// Whether `addr` is a globally routable unicast address (outside every IANA special-purpose
/// range that does not identify a host on the internet).
pub fn is_public(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => is_public_v4(a),
        IpAddr::V6(a) => is_public_v6(a),
    }
}

fn is_public_v4(a: Ipv4Addr) -> bool {
    let [o1, o2, o3, _] = a.octets();
    !(o1 == 0 // "this network"
        || o1 == 10 // private
        || (o1 == 100 && (64..=127).contains(&o2)) // CGNAT shared space
        || o1 == 127 // loopback
        || (o1 == 169 && o2 == 254) // link-local
        || (o1 == 172 && (16..=31).contains(&o2)) // private
        || (o1 == 192 && o2 == 0 && o3 == 0) // IETF protocol assignments
        || (o1 == 192 && o2 == 0 && o3 == 2) // TEST-NET-1
        || (o1 == 192 && o2 == 88 && o3 == 99) // 6to4 relay anycast (deprecated)
        || (o1 == 192 && o2 == 168) // private
        || (o1 == 198 && (o2 == 18 || o2 == 19)) // benchmarking
        || (o1 == 198 && o2 == 51 && o3 == 100) // TEST-NET-2
        || (o1 == 203 && o2 == 0 && o3 == 113) // TEST-NET-3
        || o1 >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    // IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96) carry an IPv4 address.
    if s[..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return is_public_v4(v4);
    }
    // Global unicast is 2000::/3; everything else (::, ::1, fc00::/7, fe80::/10, ff00::/8,
    // reserved ranges) is special.
    if s[0] & 0xe000 != 0x2000 {
        return false;
    }
    !(s[0] == 0x2001 && s[1] == 0x0db8 // documentation
        || s[0] & 0xfff0 == 0x3ff0 // documentation 3fff::/20
        || s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments 2001::/23
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_table() {
        use Class::{Private, Public};
        let rows: &[(&str, Option<Class>)] = &[
            ("8.8.8.8", Some(Public)),
            ("1.2.3.4", Some(Public)),
            ("81.2.69.142", Some(Public)),
            ("10.0.0.1", Some(Private)),
            ("172.16.5.4", Some(Private)),
            ("172.32.0.1", Some(Public)),
            ("192.168.1.10", Some(Private)),
            ("127.0.0.1", Some(Private)),
            ("169.254.169.254", Some(Private)),
            ("100.64.0.1", Some(Private)),
            ("100.128.0.1", Some(Public)),
            ("192.0.2.10", Some(Private)),
            ("198.51.100.7", Some(Private)),
            ("203.0.113.9", Some(Private)),
            ("198.18.0.1", Some(Private)),
            ("224.0.0.251", Some(Private)),
            ("255.255.255.255", Some(Private)),
            ("0.0.0.0", Some(Private)),
            ("256.1.1.1", None),
            ("01.2.3.4", None),
            ("1.2.3.4.5", None),
            ("1.2.3.4-rc1", None),
            ("8.8.8.0/24", None),
            ("2a00:1450:4001:82a::200e", Some(Public)),
            ("2606:4700:4700::1111", Some(Public)),
            ("2001:db8::1", Some(Private)),
            ("3fff:1::1", Some(Private)),
            ("::1", Some(Private)),
            ("fe80::1", Some(Private)),
            ("fd12:3456:789a::1", Some(Private)),
            ("ff02::1", Some(Private)),
            ("::ffff:8.8.4.4", Some(Public)),
            ("::ffff:192.168.0.1", Some(Private)),
            ("64:ff9b::808:808", Some(Public)),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Some(Private)),
            ("dead::beef", Some(Private)),
            ("::", None),
            ("10:30:00", None),
            ("00:1a:2b:3c:4d:5e", None),
        ];
        for (s, want) in rows {
            assert_eq!(classify(s), *want, "{s}");
        }
    }
}
