pub mod recent;
pub mod failures;
