//! Pure rules several checks share, named for what they are: Go durations, Velero's cron,
//! Kubernetes label selectors, the pods of a Deployment. No I/O, no verdicts.

pub mod backups;
pub mod cron;
pub mod duration;
pub mod pods;
pub mod restores;
pub mod selector;
