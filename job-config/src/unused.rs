//! A warning for each `setting`, `core` and `common` key `datax` does not act on: DataX reads
//! these from the merged job and `core.json`, so a job may carry any of them, and a key that
//! silently does nothing (a misspelling, or a DataX knob this engine has no use for) must be
//! visible in the log.

use serde_json::Value;

use crate::job::JobShape;
use crate::value::{did_you_mean, join};

/// What `datax` does with a key it knows.
enum Known {
    /// Read by the job model.
    Used,
    /// A key DataX (or DataWorks) reads that `datax` does not act on.
    Unused,
    /// An object whose keys are known in turn.
    Tree(&'static [(&'static str, Known)]),
}

use Known::{Tree, Unused, Used};

const ERROR_LIMIT: Known = Tree(&[("record", Used), ("percentage", Used)]);

const DATAX_SETTING: &[(&str, Known)] = &[
    (
        "speed",
        Tree(&[("channel", Used), ("byte", Used), ("record", Used)]),
    ),
    ("errorLimit", ERROR_LIMIT),
];

const DATAWORKS_SETTING: &[(&str, Known)] = &[
    (
        "speed",
        Tree(&[
            ("concurrent", Used),
            ("channel", Used),
            ("mbps", Used),
            ("throttle", Used),
            ("dmu", Unused),
        ]),
    ),
    ("errorLimit", ERROR_LIMIT),
    ("executeMode", Unused),
    ("failoverEnable", Unused),
    ("jvmOption", Unused),
];

/// DataX's `core.json` `core` tree: only the per-channel speed and byte capacity act here.
const CORE: &[(&str, Known)] = &[
    ("dataXServer", Unused),
    (
        "transport",
        Tree(&[
            (
                "channel",
                Tree(&[
                    ("class", Unused),
                    ("speed", Tree(&[("byte", Used), ("record", Used)])),
                    ("flowControlInterval", Unused),
                    ("capacity", Unused),
                    ("byteCapacity", Used),
                ]),
            ),
            ("exchanger", Unused),
        ]),
    ),
    ("container", Unused),
    ("statistics", Unused),
];

/// DataX's `core.json` `common` tree: the text forms of dates, which the plugins use.
const COMMON: &[(&str, Known)] = &[(
    "column",
    Tree(&[
        ("datetimeFormat", Used),
        ("timeFormat", Used),
        ("dateFormat", Used),
        ("extraFormats", Used),
        ("timeZone", Used),
        ("encoding", Used),
    ]),
)];

/// Warns for each key of the job's `setting`, and (DataX shape) its top-level `core` and
/// `common`, that `datax` does not act on.
pub(crate) fn warn_unused(
    shape: JobShape,
    root: &Value,
    setting: Option<&Value>,
    setting_path: &str,
    warnings: &mut Vec<String>,
) {
    let setting_keys = match shape {
        JobShape::DataX => DATAX_SETTING,
        JobShape::DataWorks1 | JobShape::DataWorks2 => DATAWORKS_SETTING,
    };
    if let Some(setting) = setting {
        walk(setting, setting_path, setting_keys, warnings);
    }
    if shape == JobShape::DataX {
        for (key, known) in [("core", CORE), ("common", COMMON)] {
            if let Some(value) = root.get(key) {
                walk(value, key, known, warnings);
            }
        }
    }
}

fn walk(object: &Value, path: &str, known: &[(&str, Known)], warnings: &mut Vec<String>) {
    // A value of the wrong type is the readers' error to report, not an unused key.
    let Some(object) = object.as_object() else {
        return;
    };
    let names: Vec<&str> = known.iter().map(|(name, _)| *name).collect();
    for (key, value) in object {
        let key_path = join(path, key);
        match known.iter().find(|(name, _)| name == key) {
            Some((_, Used)) => {}
            Some((_, Unused)) => warnings.push(format!(
                "{key_path}: `datax` does not act on this setting, ignored"
            )),
            Some((_, Tree(inner))) => walk(value, &key_path, inner, warnings),
            None => warnings.push(match did_you_mean(key, &names) {
                Some(meant) => {
                    format!("{key_path}: unknown key, ignored; did you mean \"{meant}\"?")
                }
                None => format!("{key_path}: unknown key, ignored"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn warnings_for(shape: JobShape, root: Value, setting: Value) -> Vec<String> {
        let mut warnings = Vec::new();
        warn_unused(shape, &root, Some(&setting), "job.setting", &mut warnings);
        warnings
    }

    #[test]
    fn keys_acted_on_give_no_warning() {
        let root = json!({"core": {"transport": {"channel": {"speed": {"byte": 1, "record": 2}}}}});
        let setting = json!({"speed": {"channel": 1, "byte": 2, "record": 3},
            "errorLimit": {"record": 0, "percentage": 0.02}});
        assert!(warnings_for(JobShape::DataX, root, setting).is_empty());
    }

    #[test]
    fn each_unused_or_unknown_key_is_named_once_with_a_hint() {
        let root = json!({
            "core": {"transport": {"channel": {"speed": {"recrod": 5}, "capacity": 512}},
                     "container": {"taskGroup": {"channel": 5}}},
            "common": {"column": {"datetimeFormat": "yyyy", "timezone": "GMT+8"}, "colunm": {}}
        });
        let setting = json!({"speed": {"channel": 1, "Byte": 10}, "errorlimit": {"record": 0}});
        assert_eq!(
            warnings_for(JobShape::DataX, root, setting),
            vec![
                "job.setting.speed.Byte: unknown key, ignored; did you mean \"byte\"?",
                "job.setting.errorlimit: unknown key, ignored; did you mean \"errorLimit\"?",
                "core.transport.channel.speed.recrod: unknown key, ignored; did you mean \"record\"?",
                "core.transport.channel.capacity: `datax` does not act on this setting, ignored",
                "core.container: `datax` does not act on this setting, ignored",
                "common.column.timezone: unknown key, ignored; did you mean \"timeZone\"?",
                "common.colunm: unknown key, ignored; did you mean \"column\"?",
            ]
        );
    }

    #[test]
    fn dataworks_settings_have_their_own_keys_and_no_core() {
        let root = json!({"core": {"anything": 1}});
        let setting = json!({"speed": {"concurrent": 2, "throttle": false, "dmu": 1},
            "executeMode": null, "speeed": {}});
        assert_eq!(
            warnings_for(JobShape::DataWorks1, root, setting),
            vec![
                "job.setting.speed.dmu: `datax` does not act on this setting, ignored",
                "job.setting.executeMode: `datax` does not act on this setting, ignored",
                "job.setting.speeed: unknown key, ignored; did you mean \"speed\"?",
            ]
        );
    }
}
