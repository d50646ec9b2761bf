//! Schedules that failed validation: they never run.

use super::Review;
use crate::checks::findings::{one_line, Group};
use crate::facts::Object;
use crate::model::Status;

impl<'a> Review<'a> {
    pub(super) fn schedules(&mut self) {
        let facts = self.ctx.facts;
        let Some(list) = self.read(&facts.kube.schedules, "Schedule") else { return };
        let ns = &self.ns;
        let mut g = Group::new(
            Status::Fail,
            "Schedules failed validation: they never run",
            format!("fix what the validation errors name (`kubectl -n {ns} edit schedule <name>`): a valid cron expression, an existing storageLocation and volumeSnapshotLocations"),
        );
        for s in list.iter().filter(|s| s.status.phase.as_deref() == Some("FailedValidation")) {
            let errs = &s.status.validation_errors;
            let why = if errs.is_empty() { "no validationErrors recorded".to_string() } else { errs.iter().map(|e| one_line(e)).collect::<Vec<_>>().join("; ") };
            g.lines.push(format!("schedule {} failed validation: {why}", s.name()));
        }
        self.groups.push(g);
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;

    #[test]
    fn a_schedule_that_failed_validation_fails() {
        let mut f = Facts::empty("velero");
        f.kube.schedules = Ok(list(vec![json!({"metadata": {"name": "weekly", "namespace": "velero"}, "spec": {"schedule": "0 0 * *"},
            "status": {"phase": "FailedValidation", "validationErrors": ["invalid schedule: expected exactly 5 fields, found 4: 0 0 * *"]}})]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.summary, "schedule weekly failed validation: invalid schedule: expected exactly 5 fields, found 4: 0 0 * *");
    }
}
