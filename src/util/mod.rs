//! Small helpers with no knowledge of Velero: atomic files, stderr logging, the terminal's width, scrubbing
//! secrets out of text veldr did not write.

pub mod fsutil;
pub mod logging;
pub mod scrub;
pub mod term;
