//! The glassbox binary's library half: the subcommands' implementations, so integration tests
//! (and the demo) can start a proxy and a mock upstream in-process.
#![forbid(unsafe_code)]

pub mod build;
pub mod demo;
pub mod proxy;
