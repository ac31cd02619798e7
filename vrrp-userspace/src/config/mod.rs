//! keepalived.conf front end: lexer, parser, typed model with keepalived's defaults, validation.

pub mod check;
