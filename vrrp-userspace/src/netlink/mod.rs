//! rtnetlink edge: virtual addresses, link state and interface addresses.
