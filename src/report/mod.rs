//! Reports: the judged results rendered for people (table), machines (JSON), Prometheus and Nagios.

pub mod fleet;
pub mod json;
pub mod nagios;
pub mod prometheus;
pub mod schema;
pub mod table;

use crate::facts::Target;
use crate::model::{CheckResult, Status};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 1;

/// The JSON report of CONTRACT.md, schema version 1. Fields are only ever added.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    #[schemars(extend("const" = 1))]
    pub schema_version: u32,
    pub veldr: String,
    pub started_at: jiff::Timestamp,
    pub duration_ms: u64,
    pub target: Target,
    pub summary: Summary,
    pub checks: Vec<CheckResult>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Summary {
    pub status: Status,
    pub ok: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
    pub error: usize,
}

impl Summary {
    pub fn of(checks: &[CheckResult]) -> Summary {
        let mut s = Summary::default();
        for c in checks {
            match c.status {
                Status::Ok => s.ok += 1,
                Status::Warn => s.warn += 1,
                Status::Fail => s.fail += 1,
                Status::Skip => s.skip += 1,
                Status::Error => s.error += 1,
            }
        }
        s.status = if s.fail > 0 {
            Status::Fail
        } else if s.error > 0 {
            Status::Error
        } else if s.warn > 0 {
            Status::Warn
        } else {
            Status::Ok
        };
        s
    }
}

/// `--fail-on`: which status makes the exit code 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Fail,
    Warn,
}

impl Report {
    /// Exit code for table, JSON and Prometheus output (CONTRACT.md).
    pub fn exit_code(&self, fail_on: FailOn) -> i32 {
        let s = &self.summary;
        if s.fail > 0 || (fail_on == FailOn::Warn && s.warn > 0) {
            1
        } else {
            0
        }
    }
}
