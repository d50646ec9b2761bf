pub mod connect;
pub mod crds;
pub mod rbac;
