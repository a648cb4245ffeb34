//! Data sources: the connection details DataWorks keeps outside the job, which jobs name with
//! `"datasource": "NAME"` and leave their endpoint and keys empty or masked (spec §11.7).
//!
//! The file is `{"NAME": {"type": "loghub", "parameter": {…}}, …}`; string values may contain
//! `${env:VAR}`, read from the environment, so secrets need not be written in the file, and the
//! job's parameters (`${name}`, given with `-p`), so one file serves every region or project.

use serde_json::{Map, Value};

use crate::error::JobError;
use crate::job::{parse_lenient, Step};
use crate::params::Params;
use crate::secrets::is_masked;
use crate::value::{as_string, describe, join, optional, optional_object};

/// One data source: its type (`odps`, `loghub`, …) and the parameters it gives a step.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    pub source_type: String,
    pub parameter: Map<String, Value>,
}

/// The data sources of a file, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataSources {
    sources: Vec<(String, DataSource)>,
}

impl DataSources {
    /// Reads a data source file (lenient JSON, like job files), substituting the job's `params`.
    /// `env_lookup` gives the value of an environment variable, e.g.
    /// `|name| std::env::var(name).ok()`.
    pub fn parse(
        text: &str,
        params: &Params,
        env_lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<DataSources, JobError> {
        let (root, _comments_and_commas) = parse_lenient(text, params)?;
        let Value::Object(entries) = root else {
            return Err(JobError::WrongType {
                path: "data sources".to_string(),
                expected: "an object of named data sources",
                found: describe(&root),
            });
        };
        let mut sources = Vec::new();
        for (name, entry) in &entries {
            if !entry.is_object() {
                return Err(JobError::WrongType {
                    path: name.clone(),
                    expected: "an object with `type` and `parameter`",
                    found: describe(entry),
                });
            }
            let source_type = optional(entry, "type", name, as_string)?.ok_or_else(|| {
                JobError::invalid(
                    join(name, "type"),
                    "missing: the data source type, e.g. `odps`",
                )
            })?;
            let parameter_path = join(name, "parameter");
            let parameter = match optional_object(entry, "parameter", name)? {
                Some(p) => resolve_env(p, &parameter_path, &env_lookup)?,
                None => Value::Object(Map::new()),
            };
            let Value::Object(parameter) = parameter else {
                unreachable!("resolve_env keeps the shape of its input")
            };
            sources.push((
                name.clone(),
                DataSource {
                    source_type,
                    parameter,
                },
            ));
        }
        Ok(DataSources { sources })
    }

    pub fn get(&self, name: &str) -> Option<&DataSource> {
        self.sources.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.sources.iter().map(|(n, _)| n.as_str())
    }
}

fn resolve_env(
    value: &Value,
    path: &str,
    env_lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Value, JobError> {
    Ok(match value {
        Value::String(s) => Value::String(expand_env(s, path, env_lookup)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| resolve_env(v, &format!("{path}[{i}]"), env_lookup))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve_env(v, &join(path, k), env_lookup)?)))
                .collect::<Result<_, JobError>>()?,
        ),
        other => other.clone(),
    })
}

fn expand_env(
    text: &str,
    path: &str,
    env_lookup: &impl Fn(&str) -> Option<String>,
) -> Result<String, JobError> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${env:") {
        let after = &rest[start + 6..];
        let Some(len) = after.find('}') else { break };
        let name = &after[..len];
        let value = env_lookup(name).ok_or_else(|| JobError::MissingEnv {
            name: name.to_string(),
            path: path.to_string(),
        })?;
        out.push_str(&rest[..start]);
        out.push_str(&value);
        rest = &after[len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Fills the step's parameters the job leaves absent, empty or masked from its data source:
/// the one named by `datasource`, or else the one named after the step's type (`odps`).
/// Values the job sets win. A named data source that is not defined is only a warning: the
/// plugin's own checks then report the missing endpoint or key.
pub(crate) fn fill(
    step: &mut Step,
    sources: Option<&DataSources>,
    warnings: &mut Vec<String>,
) -> Result<(), JobError> {
    fill_from_source(step, sources, warnings)?;
    // A masked key left as is would reach the service as the literal `*****`.
    if let Value::Object(parameter) = &step.parameter {
        for (key, value) in parameter {
            if value.as_str().is_some_and(is_masked) {
                warnings.push(format!(
                    "{}.parameter.{key} is masked (`{}`) and no data source gives its value",
                    step.path,
                    value.as_str().unwrap_or_default()
                ));
            }
        }
    }
    Ok(())
}

fn fill_from_source(
    step: &mut Step,
    sources: Option<&DataSources>,
    warnings: &mut Vec<String>,
) -> Result<(), JobError> {
    let parameter_path = join(&step.path, "parameter");
    let named = optional(&step.parameter, "datasource", &parameter_path, as_string)?;
    let name = named
        .clone()
        .unwrap_or_else(|| step.data_source_type.clone());
    let Some(source) = sources.and_then(|s| s.get(&name)) else {
        if named.is_some() {
            let where_ = if sources.is_some() {
                "in the data source file"
            } else {
                "(no data source file given)"
            };
            warnings.push(format!(
                "{parameter_path}.datasource: data source `{name}` is not defined {where_}; \
                 only the job's own parameters are used"
            ));
        }
        return Ok(());
    };
    if !source
        .source_type
        .eq_ignore_ascii_case(&step.data_source_type)
    {
        let chosen = if named.is_some() {
            format!("{parameter_path}.datasource")
        } else {
            format!("{} (data source chosen by the step's type)", step.path)
        };
        return Err(JobError::invalid(
            chosen,
            format!(
                "data source `{name}` is of type `{}`, but the step is `{}`",
                source.source_type, step.data_source_type
            ),
        ));
    }
    let Value::Object(parameter) = &mut step.parameter else {
        unreachable!("a step's parameter is always an object")
    };
    for (key, value) in &source.parameter {
        if parameter.get(key).is_none_or(is_unset) {
            parameter.insert(key.clone(), value.clone());
        }
    }
    Ok(())
}

fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty() || is_masked(s),
        _ => false,
    }
}
