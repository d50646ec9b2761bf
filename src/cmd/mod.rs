//! One module per command.

pub mod restore_check;
