//! The three job file shapes (spec §1): DataX, DataWorks script mode 1.0 and 2.0, taken apart
//! into one reader step, one writer step, the transformers and the settings.

use serde_json::{Map, Value};

use crate::error::JobError;
use crate::job::{JobShape, Step, TransformerStep};
use crate::value::{as_string, describe, field, join, optional, optional_object, present};

/// A job file taken apart, before its settings are read.
pub(crate) struct Parts {
    pub shape: JobShape,
    pub reader: Step,
    pub writer: Step,
    pub transformer: Vec<TransformerStep>,
    pub setting: Option<Value>,
    pub setting_path: &'static str,
    pub core: Option<Value>,
}

pub(crate) fn split(root: &Value, warnings: &mut Vec<String>) -> Result<Parts, JobError> {
    let Value::Object(top) = root else {
        return Err(JobError::WrongType {
            path: "(top level)".to_string(),
            expected: "a JSON object",
            found: describe(root),
        });
    };
    if top.contains_key("job") {
        datax(root)
    } else if top.contains_key("configuration") {
        dataworks1(root)
    } else if top.contains_key("steps") {
        dataworks2(root, warnings)
    } else {
        Err(unrecognised(top))
    }
}

fn unrecognised(top: &Map<String, Value>) -> JobError {
    let keys: Vec<String> = top.keys().map(|k| format!("`{k}`")).collect();
    let near_miss = top.keys().any(|k| {
        let k = k.trim().to_ascii_lowercase();
        ["job", "configuration", "steps"].contains(&k.as_str())
    });
    let hint = if near_miss {
        " (keys are case-sensitive and must not contain spaces)"
    } else {
        ""
    };
    JobError::invalid(
        "(top level)",
        format!(
            "not a DataX or DataWorks job: expected a `job` key (DataX), `configuration` \
             (DataWorks 1.0) or `steps` (DataWorks 2.0), found {}{hint}",
            if keys.is_empty() {
                "no key".to_string()
            } else {
                keys.join(", ")
            }
        ),
    )
}

fn datax(root: &Value) -> Result<Parts, JobError> {
    let job = required_object(root, "job", "")?;
    let content = field(job, "content").ok_or_else(|| {
        JobError::invalid(
            "job.content",
            "missing: a DataX job needs one content element with a reader and a writer",
        )
    })?;
    let (element, path) = match content {
        Value::Array(items) if items.is_empty() => {
            return Err(JobError::invalid(
                "job.content",
                "empty: a DataX job needs one content element with a reader and a writer",
            ))
        }
        Value::Array(items) if items.len() > 1 => {
            let count = items.len();
            return Err(JobError::invalid(
                "job.content[1]",
                format!("a job runs exactly one content element, this one has {count} (make one job of each)"),
            ));
        }
        Value::Array(items) => (&items[0], "job.content[0]"),
        Value::Object(_) => (content, "job.content"),
        other => {
            return Err(JobError::WrongType {
                path: "job.content".to_string(),
                expected: "a list of one element",
                found: describe(other),
            })
        }
    };
    if !element.is_object() {
        return Err(JobError::WrongType {
            path: path.to_string(),
            expected: "an object with a reader and a writer",
            found: describe(element),
        });
    }
    let transformer = match field(element, "transformer") {
        None => Vec::new(),
        Some(Value::Array(items)) => transformers(items, &join(path, "transformer"))?,
        Some(other) => {
            return Err(JobError::WrongType {
                path: join(path, "transformer"),
                expected: "a list",
                found: describe(other),
            })
        }
    };
    Ok(Parts {
        shape: JobShape::DataX,
        reader: step(
            field(element, "reader"),
            join(path, "reader"),
            "name",
            Kind::Reader,
        )?,
        writer: step(
            field(element, "writer"),
            join(path, "writer"),
            "name",
            Kind::Writer,
        )?,
        transformer,
        setting: optional_object(job, "setting", "job")?.cloned(),
        setting_path: "job.setting",
        core: optional_object(root, "core", "")?.cloned(),
    })
}

/// DataX's `transformer` list: each entry names its transformer and may carry a `parameter`
/// object, which the transformer itself validates.
fn transformers(items: &[Value], path: &str) -> Result<Vec<TransformerStep>, JobError> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let path = format!("{path}[{index}]");
            if !item.is_object() {
                return Err(JobError::WrongType {
                    path,
                    expected: "an object with a name and a parameter",
                    found: describe(item),
                });
            }
            let name = match present(item, "name") {
                Some(name) => as_string(name, &join(&path, "name"))?,
                None => return Err(JobError::invalid(path, "a transformer needs a `name`")),
            };
            let parameter = match field(item, "parameter") {
                None => Value::Object(Map::new()),
                Some(parameter @ Value::Object(_)) => parameter.clone(),
                Some(other) => {
                    return Err(JobError::WrongType {
                        path: join(&path, "parameter"),
                        expected: "an object",
                        found: describe(other),
                    })
                }
            };
            Ok(TransformerStep {
                name,
                path,
                parameter,
            })
        })
        .collect()
}

fn dataworks1(root: &Value) -> Result<Parts, JobError> {
    let configuration = required_object(root, "configuration", "")?;
    let path = "configuration";
    Ok(Parts {
        shape: JobShape::DataWorks1,
        reader: step(
            field(configuration, "reader"),
            join(path, "reader"),
            "plugin",
            Kind::Reader,
        )?,
        writer: step(
            field(configuration, "writer"),
            join(path, "writer"),
            "plugin",
            Kind::Writer,
        )?,
        transformer: Vec::new(),
        setting: optional_object(configuration, "setting", path)?.cloned(),
        setting_path: "configuration.setting",
        core: None,
    })
}

fn dataworks2(root: &Value, warnings: &mut Vec<String>) -> Result<Parts, JobError> {
    let steps = match field(root, "steps") {
        Some(Value::Array(items)) => items,
        other => {
            return Err(JobError::WrongType {
                path: "steps".to_string(),
                expected: "a list of steps",
                found: other.map_or("null".to_string(), describe),
            })
        }
    };
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let path = format!("steps[{i}]");
        if !s.is_object() {
            return Err(JobError::WrongType {
                path,
                expected: "a step object",
                found: describe(s),
            });
        }
        let category = optional(s, "category", &path, as_string)?.ok_or_else(|| {
            JobError::invalid(
                join(&path, "category"),
                "missing: each step needs a `category`, `reader` or `writer`",
            )
        })?;
        match category.as_str() {
            "reader" => readers.push(i),
            "writer" => writers.push(i),
            _ if is_empty_step(s) => {
                warnings.push(format!("{path}: empty `{category}` step ignored"));
            }
            _ => {
                return Err(JobError::invalid(
                    join(&path, "category"),
                    format!("`{category}` steps are not supported, only one reader and one writer"),
                ))
            }
        }
    }
    let reader_index = single_step(&readers, "reader")?;
    let writer_index = single_step(&writers, "writer")?;
    let reader = &steps[reader_index];
    let writer = &steps[writer_index];
    check_hop(root, reader, writer)?;
    Ok(Parts {
        shape: JobShape::DataWorks2,
        reader: step(
            Some(reader),
            format!("steps[{reader_index}]"),
            "stepType",
            Kind::Reader,
        )?,
        writer: step(
            Some(writer),
            format!("steps[{writer_index}]"),
            "stepType",
            Kind::Writer,
        )?,
        transformer: Vec::new(),
        setting: optional_object(root, "setting", "")?.cloned(),
        setting_path: "setting",
        core: None,
    })
}

fn single_step(indexes: &[usize], category: &str) -> Result<usize, JobError> {
    match indexes {
        [] => Err(JobError::invalid(
            "steps",
            format!("no step with category `{category}`: a job needs one reader and one writer"),
        )),
        [one] => Ok(*one),
        [first, second, ..] => Err(JobError::invalid(
            format!("steps[{second}]"),
            format!("a second `{category}` step (the first is steps[{first}]): a job has one reader and one writer"),
        )),
    }
}

/// A step with nothing to do, such as `{"category": "processor", "parameter": {"nodes": [], "edges": []}}`.
fn is_empty_step(s: &Value) -> bool {
    match field(s, "parameter") {
        None => true,
        Some(Value::Object(map)) => map.values().all(|v| match v {
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            Value::Null => true,
            _ => false,
        }),
        Some(_) => false,
    }
}

fn check_hop(root: &Value, reader: &Value, writer: &Value) -> Result<(), JobError> {
    let hops = match field(root, "order").and_then(|o| field(o, "hops")) {
        Some(Value::Array(hops)) => hops,
        Some(other) => {
            return Err(JobError::WrongType {
                path: "order.hops".to_string(),
                expected: "a list of hops",
                found: describe(other),
            })
        }
        None => return Err(JobError::invalid(
            "order.hops",
            "missing: a DataWorks 2.0 job needs one hop from the reader step to the writer step",
        )),
    };
    let hop =
        match hops.as_slice() {
            [] => return Err(JobError::invalid(
                "order.hops",
                "empty: a DataWorks 2.0 job needs one hop from the reader step to the writer step",
            )),
            [hop] => hop,
            _ => {
                return Err(JobError::invalid(
                    "order.hops[1]",
                    format!(
                        "a job has one hop from the reader to the writer, this one has {}",
                        hops.len()
                    ),
                ))
            }
        };
    let name_of = |v: &Value, key: &str, path: &str| -> Result<String, JobError> {
        Ok(optional(v, key, path, as_string)?.unwrap_or_else(|| "(none)".to_string()))
    };
    let from = name_of(hop, "from", "order.hops[0]")?;
    let to = name_of(hop, "to", "order.hops[0]")?;
    let reader_name = name_of(reader, "name", "reader step")?;
    let writer_name = name_of(writer, "name", "writer step")?;
    if from != reader_name || to != writer_name {
        return Err(JobError::invalid(
            "order.hops[0]",
            format!(
                "the hop goes from `{from}` to `{to}`, but the reader step is named `{reader_name}` \
                 and the writer step `{writer_name}`"
            ),
        ));
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Kind {
    Reader,
    Writer,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Reader => "reader",
            Kind::Writer => "writer",
        }
    }
}

fn step(value: Option<&Value>, path: String, name_key: &str, kind: Kind) -> Result<Step, JobError> {
    let Some(value) = value else {
        return Err(JobError::invalid(
            path,
            format!("missing: the job has no {}", kind.word()),
        ));
    };
    if !value.is_object() {
        return Err(JobError::WrongType {
            path,
            expected: "an object",
            found: describe(value),
        });
    }
    let name_path = join(&path, name_key);
    let plugin = match present(value, name_key) {
        Some(Value::String(name)) => name.trim().to_string(),
        Some(other) => {
            return Err(JobError::WrongType {
                path: name_path,
                expected: "a plugin name",
                found: describe(other),
            })
        }
        None => {
            return Err(JobError::invalid(
                name_path,
                format!("missing: the {}'s plugin name", kind.word()),
            ))
        }
    };
    let parameter = optional_object(value, "parameter", &path)?
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    // DataX names carry the kind (`odpsreader`); DataWorks names are the bare type (`odps`).
    let data_source_type = plugin
        .strip_suffix(kind.word())
        .filter(|t| !t.is_empty())
        .unwrap_or(&plugin)
        .to_string();
    Ok(Step {
        plugin,
        data_source_type,
        path,
        parameter,
    })
}

fn required_object<'a>(
    parent: &'a Value,
    key: &str,
    parent_path: &str,
) -> Result<&'a Value, JobError> {
    optional_object(parent, key, parent_path)?
        .ok_or_else(|| JobError::invalid(join(parent_path, key), "missing (or null)"))
}
