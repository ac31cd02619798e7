//! VRRP wire codec (RFC 3768 v2, RFC 5798 v3): zero-copy `Packet` views and owned `Repr`s.
