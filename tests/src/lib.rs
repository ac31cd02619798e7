//! Test kit: network namespaces, veth pairs, bridges and processes that clean up after themselves.
