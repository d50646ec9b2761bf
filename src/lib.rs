//! veldr: a doctor for Velero on OpenStack Swift with CSI snapshots.
//!
//! The shape is collect → judge → report: [`collect`] does all I/O once and concurrently and
//! produces [`facts::Facts`]; [`checks`] holds the registry and the pure judge functions over those
//! facts; [`report`] renders the results. A bundle ([`bundle`]) is `Facts` written to a file.

pub mod app;
pub mod bundle;
pub mod checks;
pub mod cli;
pub mod collect;
pub mod engine;
pub mod facts;
pub mod fleet;
pub mod fsutil;
pub mod helm;
pub mod logging;
pub mod logs_cmd;
pub mod man_cmd;
pub mod model;
pub mod namespace;
pub mod openstack;
pub mod plugin;
pub mod report;
pub mod rules;
pub mod secret;
pub mod store;
pub mod serve;
pub mod tempurl_cmd;
pub mod term;
pub mod trust;
pub mod unanswered;
pub mod upstream;
pub mod velero;
pub mod vsphere;
