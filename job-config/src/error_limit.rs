//! `setting.errorLimit`: how many dirty records a job tolerates (spec §3, §9.4).

use serde_json::Value;

use crate::error::JobError;
use crate::value::{as_f64, as_u64, join, optional, optional_object};

/// `None` means unlimited. Absent, `null` and blank (`""`) values are unlimited, as in DataX.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorLimit {
    /// The job fails when more than this many records are dirty (`0`: at the first one).
    pub record: Option<u64>,
    /// The job fails when dirty / total exceeds this fraction (0.0 to 1.0).
    pub percentage: Option<f64>,
}

impl ErrorLimit {
    /// As DataX (`ErrorRecordChecker`), a `record` limit discards `percentage`; we warn about it.
    pub(crate) fn read(
        setting: Option<&Value>,
        setting_path: &str,
        warnings: &mut Vec<String>,
    ) -> Result<ErrorLimit, JobError> {
        let path = join(setting_path, "errorLimit");
        let Some(limit) =
            setting.map_or(Ok(None), |s| optional_object(s, "errorLimit", setting_path))?
        else {
            return Ok(ErrorLimit {
                record: None,
                percentage: None,
            });
        };
        let record = optional(limit, "record", &path, as_u64)?;
        let mut percentage = optional(limit, "percentage", &path, as_f64)?;
        if let Some(p) = percentage {
            if !(0.0..=1.0).contains(&p) {
                return Err(JobError::invalid(
                    join(&path, "percentage"),
                    format!("{p} is not a fraction between 0 and 1 (0.02 means 2%)"),
                ));
            }
        }
        if record.is_some() && percentage.is_some() {
            warnings.push(format!(
                "{path}: percentage is ignored because record is set (as DataX does)"
            ));
            percentage = None;
        }
        Ok(ErrorLimit { record, percentage })
    }
}
