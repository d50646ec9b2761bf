//! One module per command. Each parses nothing (that is `cli`) and re-implements nothing of the
//! pipeline (gather → judge → report, `crate::pipeline`): it says what to gather, which registry
//! judges it and where the report goes.

pub mod doctor;
pub mod fleet;
pub mod logs;
pub mod man;
pub mod registry;
pub mod schema;
pub mod serve;
pub mod tempurl;
pub mod restore_check;
pub mod verify;
