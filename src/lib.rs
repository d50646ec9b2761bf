//! veldr: a doctor for Velero on OpenStack Swift with CSI snapshots.
//!
//! The shape is collect → judge → report, run by [`pipeline`] for every command in [`cmd`]:
//! [`collect`] does all I/O once and concurrently and produces [`facts::Facts`]; [`checks`] holds the
//! registries and the pure judge functions over those facts; [`report`] renders the results. A bundle
//! ([`facts::bundle`]) is `Facts` written to a file. [`upstream`] mirrors how Velero, the OpenStack
//! plugin, vSphere CSI and Helm behave, read from their sources; [`openstack`] is veldr's own Keystone
//! and Swift client; [`rules`] are pure rules several checks share.

pub mod checks;
pub mod cli;
pub mod cmd;
pub mod collect;
pub mod facts;
pub mod model;
pub mod openstack;
pub mod pipeline;
pub mod report;
pub mod rules;
pub mod secret;
pub mod upstream;
pub mod util;
