//! OpenStack: Keystone, Swift and temp URLs, as the Velero OpenStack plugin sees them.
//!
//! veldr talks to Keystone and Swift itself, over one `reqwest` client, instead of through an
//! OpenStack SDK: the diagnostics need the raw token body (expiry, roles, the application
//! credential's fields, the whole catalog), the Swift headers the SDKs drop (temp-URL keys, `Date`)
//! and the exact HTTP status of each refusal. Everything here is read-only (GET/HEAD, plus the
//! token POST that only creates a token).
//!
//! - [`tempurl`]: pure signing and parsing of Swift temp URLs, mirroring the plugin (gophercloud
//!   `CreateTempURL`) and Swift's `tempurl` middleware.
//! - [`http`]: the HTTP client, [`http::send`] (every call goes through it: status, headers and a
//!   body read up to a limit), and a classifier that turns transport errors into causes a person
//!   can act on.
//! - [`keystone`]: version discovery, authentication, and the catalog lookup gophercloud performs.
//! - [`swift`]: HEAD account/container, `/info`, and the live temp-URL probe.
//!
//! These are the client's answers; what a run keeps of them (and a bundle holds) is
//! [`crate::facts::openstack`], into which `collect::openstack` converts them.
//!
//! Every secret (credential secret, password, token, temp-URL key, signature) is a
//! [`crate::secret::Secret`]; none reaches an error message, a `Debug` dump or a log line.

pub mod http;
pub mod keystone;
pub mod swift;
pub mod tempurl;
