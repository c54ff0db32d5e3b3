//! `intake`: the gateway's command line.
fn main() {}
