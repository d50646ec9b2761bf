pub mod recent;
