//! DataX's transformer chain (`job.content[0].transformer`): built-ins that rewrite one column
//! of each record or drop the record, `dx_script` (a sandboxed script in place of
//! `dx_groovy`) and transformer plugins from the plugin folder, which may change the whole
//! record, run in the reader's task thread between the reader and the channel, as DataX's
//! `TransformerExchanger` does.
//!
//! Per record, as DataX: the transformers run in order; one that filters the record stops the
//! chain and the record is counted as filtered (and, as DataX counts it, as a success); one
//! that fails stops the chain and the record is dirty on the reader's side, with the
//! transformer's name in the reason. A `columnIndex` past the end of a record stops the job:
//! DataX checks it on the first record and throws rather than collecting dirty records. A
//! transformer plugin that panics stops its reader task too (the host itself carries on to end
//! the job cleanly); a script that fails or runs past its limits only makes its record dirty.
//!
//! Parameters are checked when the chain is built, before any plugin starts, where DataX
//! would fail every record at run time: errors name the entry (`job.content[0].transformer[1]
//! (dx_pad): paras[0] must be l or r`).

mod digest;
mod filter;
mod pad;
mod params;
mod plugin;
mod replace;
mod script;
mod substr;
mod utf16;

use std::borrow::Cow;

use datax_job_config::TransformerStep;
use datax_plugin_api::{Column, PluginError, Record};

use params::Parameter;

use crate::logger;
use crate::plugins::Registry;

pub use datax_plugin_api::Verdict;

/// The built-ins, as messages list them.
const BUILT_INS: &str = "dx_substr, dx_pad, dx_replace, dx_filter, dx_digest, dx_script";

/// Why `dx_groovy` is refused, with the `dx_script` equivalent of DataX's doc example
/// (`transformer/doc/transformer.md`, "groovy 实现的subStr").
const GROOVY_REFUSED: &str = "Groovy cannot run here: use dx_script, a sandboxed Rhai script \
     that sees the record as `record`, a list of column values (docs/transformers.md). DataX's \
     example `Column column = record.getColumn(1); String oriValue = column.asString(); \
     record.setColumn(1, new StringColumn(oriValue.substring(0, 3))); return record;` becomes \
     {\"name\": \"dx_script\", \"parameter\": {\"code\": \"record[1] = \
     record[1].to_string().sub_string(0, 3);\"}}";

/// One built-in, applied to the column its `columnIndex` names.
trait Transform: Send + Sync {
    /// Rewrites `column` or judges the record by it; `Err` makes the record dirty.
    fn apply(&self, column: &mut Column) -> Result<Verdict, String>;

    /// Where this job's parameters make DataX behave differently, to log at start.
    fn warning(&self) -> Option<&str> {
        None
    }
}

/// Why a chain entry gave no verdict on a record.
enum Failure {
    /// The record is dirty, for this reason.
    Record(String),
    /// The reader task must stop: a `columnIndex` past the record's end, a plugin's panic.
    Task(PluginError),
}

/// What one chain entry does to a whole record.
trait Stage: Send + Sync {
    fn run(&self, record: &mut Record) -> Result<Verdict, Failure>;
}

/// A built-in on the column its `columnIndex` names.
struct ColumnStage {
    column_index: usize,
    transform: Box<dyn Transform>,
}

impl Stage for ColumnStage {
    fn run(&self, record: &mut Record) -> Result<Verdict, Failure> {
        let width = record.columns.len();
        let Some(column) = record.columns.get_mut(self.column_index) else {
            return Err(Failure::Task(PluginError::config(format!(
                "columnIndex {} is out of bounds: the record has {width} columns",
                self.column_index
            ))));
        };
        self.transform.apply(column).map_err(Failure::Record)
    }
}

/// A transformer of the chain with where it came from, for messages.
struct Link {
    name: String,
    path: String,
    stage: Box<dyn Stage>,
}

/// A job's transformers, in order; shared read-only by every reader task.
#[derive(Default)]
pub struct Chain {
    links: Vec<Link>,
}

/// What the chain did with one record.
pub enum Outcome {
    Keep,
    Filter,
    /// A transformer failed: the reason for the dirty record.
    Fail(String),
}

impl Chain {
    /// Builds the chain, checking every parameter and finding the transformer plugins in
    /// `registry`; the error names the entry.
    pub fn build(steps: &[TransformerStep], registry: &Registry) -> Result<Chain, String> {
        let links = steps
            .iter()
            .map(|step| {
                let stage = stage(step, registry)
                    .map_err(|reason| format!("{} ({}): {reason}", step.path, step.name))?;
                Ok(Link {
                    name: step.name.clone(),
                    path: step.path.clone(),
                    stage,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Chain { links })
    }

    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// Runs the chain over `record`. `Err` stops the reader task: a `columnIndex` past the
    /// record's end, or a transformer plugin's panic; it names the entry.
    pub fn apply(&self, record: &mut Record) -> Result<Outcome, PluginError> {
        for link in &self.links {
            match link.stage.run(record) {
                Ok(Verdict::Keep) => {}
                Ok(Verdict::Filter) => return Ok(Outcome::Filter),
                Err(Failure::Record(reason)) => {
                    return Ok(Outcome::Fail(format!(
                        "transformer {} ({}) failed: {reason}",
                        link.name, link.path
                    )))
                }
                Err(Failure::Task(error)) => {
                    return Err(PluginError::new(
                        error.kind,
                        format!("{} ({}): {}", link.path, link.name, error.message),
                    ))
                }
            }
        }
        Ok(Outcome::Keep)
    }
}

/// DataX's `Column.asString()`: `None` for null; text borrowed where the column holds it. A
/// double with no text (NaN, ±Infinity) fails the record, as DataX's `BigDecimal` throws.
fn column_text(column: &Column) -> Result<Option<Cow<'_, str>>, String> {
    match column {
        Column::Null => Ok(None),
        Column::String(text) | Column::Decimal(text) => Ok(Some(Cow::Borrowed(text.as_str()))),
        other => {
            let mut text = Vec::new();
            datax_plugin_kit::text::write_text(&mut text, other)
                .map_err(|_| format!("the {} value has no text", other.kind_name()))?;
            let text = String::from_utf8(text).map_err(|error| error.to_string())?;
            Ok(Some(Cow::Owned(text)))
        }
    }
}

/// What runs for `step`: a built-in, `dx_script`, or the transformer plugin its name is given by.
fn stage(step: &TransformerStep, registry: &Registry) -> Result<Box<dyn Stage>, String> {
    let build: fn(&Parameter) -> Result<Box<dyn Transform>, String> = match step.name.as_str() {
        "dx_substr" => |parameter| Ok(Box::new(substr::Substr::new(parameter)?)),
        "dx_pad" => |parameter| Ok(Box::new(pad::Pad::new(parameter)?)),
        "dx_replace" => |parameter| Ok(Box::new(replace::Replace::new(parameter)?)),
        "dx_filter" => |parameter| Ok(Box::new(filter::Filter::new(parameter)?)),
        "dx_digest" => |parameter| Ok(Box::new(digest::Digest::new(parameter)?)),
        "dx_script" => return Ok(Box::new(script::Script::new(&step.parameter)?)),
        "dx_groovy" => return Err(GROOVY_REFUSED.to_string()),
        _ => return Ok(Box::new(plugin::PluginStage::new(step, registry)?)),
    };
    let parameter = Parameter::read(&step.parameter)?;
    let transform = build(&parameter)?;
    if let Some(warning) = transform.warning() {
        logger::warn("datax", format!("{} ({}): {warning}", step.path, step.name));
    }
    Ok(Box::new(ColumnStage {
        column_index: parameter.column_index,
        transform,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn step(name: &str, parameter: serde_json::Value) -> TransformerStep {
        TransformerStep {
            name: name.to_string(),
            path: "job.content[0].transformer[1]".to_string(),
            parameter,
        }
    }

    fn chain(steps: &[TransformerStep]) -> Chain {
        Chain::build(steps, &no_plugins()).unwrap()
    }

    fn no_plugins() -> Registry {
        Registry::load(Vec::new())
    }

    #[test]
    fn errors_name_the_entry_and_its_transformer() {
        let bad = step(
            "dx_pad",
            json!({"columnIndex": 0, "paras": ["x", "3", "0"]}),
        );
        let error = Chain::build(&[bad], &no_plugins()).err().unwrap();
        assert_eq!(
            error,
            "job.content[0].transformer[1] (dx_pad): paras[0] must be l or r, found \"x\""
        );
        let groovy = step("dx_groovy", json!({"code": "return record;"}));
        let error = Chain::build(&[groovy], &no_plugins()).err().unwrap();
        assert!(error.contains("dx_script"), "{error}");
        let unknown = step("dx_upper", json!({"columnIndex": 0}));
        let error = Chain::build(&[unknown], &no_plugins()).err().unwrap();
        assert!(
            error.contains("`dx_upper` is neither a built-in")
                && error.contains("no transformer plugin named 'dx_upper'"),
            "{error}"
        );
    }

    #[test]
    fn the_chain_runs_in_order_and_stops_at_a_filter_or_a_failure() {
        let chain = chain(&[
            step("dx_substr", json!({"columnIndex": 0, "paras": ["1", "3"]})),
            step(
                "dx_filter",
                json!({"columnIndex": 0, "paras": ["=", "bcd"]}),
            ),
            step(
                "dx_pad",
                json!({"columnIndex": 1, "paras": ["l", "4", "0"]}),
            ),
        ]);
        let mut kept = Record::new(vec![Column::string("xyzw"), Column::Long(7)]);
        assert!(matches!(chain.apply(&mut kept), Ok(Outcome::Keep)));
        assert_eq!(kept.columns[0], Column::string("yzw"));
        assert_eq!(kept.columns[1], Column::string("0007"));
        let mut filtered = Record::new(vec![Column::string("abcde"), Column::Long(7)]);
        assert!(matches!(chain.apply(&mut filtered), Ok(Outcome::Filter)));
        assert_eq!(filtered.columns[1], Column::Long(7), "the chain stopped");
        let mut failing = Record::new(vec![Column::string(""), Column::Long(7)]);
        let Ok(Outcome::Fail(reason)) = chain.apply(&mut failing) else {
            panic!("startIndex 1 is past the end of \"\"");
        };
        assert!(
            reason.starts_with("transformer dx_substr (job.content[0].transformer[1]) failed"),
            "{reason}"
        );
    }

    #[test]
    fn a_column_index_past_the_record_stops_the_job() {
        let chain = chain(&[step(
            "dx_pad",
            json!({"columnIndex": 2, "paras": ["r", "2", "-"]}),
        )]);
        let error = chain
            .apply(&mut Record::new(vec![Column::Null]))
            .err()
            .unwrap();
        assert_eq!(
            error.message.as_str(),
            "job.content[0].transformer[1] (dx_pad): columnIndex 2 is out of bounds: the \
             record has 1 columns"
        );
    }
}
