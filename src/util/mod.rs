//! Small helpers with no knowledge of Velero: atomic files, stderr logging, the terminal's width.

pub mod fsutil;
pub mod logging;
pub mod term;
