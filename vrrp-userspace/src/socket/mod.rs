//! Raw sockets: VRRP adverts out (IPv4/IPv6, multicast or unicast), gratuitous ARP and unsolicited NA.
