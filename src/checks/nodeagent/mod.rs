pub mod pss;
