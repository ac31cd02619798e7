//! Sans-IO RFC 5798 election engine with keepalived semantics: events and a clock in, actions out.
