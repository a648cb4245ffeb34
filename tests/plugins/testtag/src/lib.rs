//! `test_tag`: a transformer plugin for the end-to-end tests. It looks at the text of one
//! column and, as its `parameter` asks:
//! - `columnIndex` (required): the column it looks at;
//! - `suffix`: appends this to that column's text;
//! - `appendColumn`: adds a last column with this text (a whole-record change);
//! - `filterIf` / `failIf` / `panicIf`: filters the record, fails it (a dirty record) or
//!   panics when the column's text equals this value.

use datax_plugin_api::{Column, PluginError, Record, Transformer, Verdict};
use serde_json::Value;

datax_plugin_api::export_plugin! {
    name: "testtag",
    description: "tags, adds, filters, fails or panics on request, for the end-to-end tests",
    transformer: TestTag,
}

pub struct TestTag {
    column_index: usize,
    suffix: Option<String>,
    append_column: Option<String>,
    filter_if: Option<String>,
    fail_if: Option<String>,
    panic_if: Option<String>,
}

fn text_key(parameter: &Value, key: &str) -> Result<Option<String>, PluginError> {
    match parameter.get(key) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(PluginError::config(format!(
            "parameter.{key} must be a string, found {other}"
        ))),
    }
}

/// The column's text, as the comparisons see it.
fn column_text(column: &Column) -> String {
    match column {
        Column::Null => String::new(),
        Column::String(text) | Column::Decimal(text) => text.to_string(),
        Column::Long(value) => value.to_string(),
        Column::Double(value) => value.to_string(),
        Column::Bool(value) => value.to_string(),
        other => format!("{other:?}"),
    }
}

impl Transformer for TestTag {
    const DATAX_NAMES: &'static [&'static str] = &["test_tag"];
    const TEMPLATE: &'static str = r#"{"columnIndex": 0, "suffix": "!"}"#;

    fn init(parameter: &str) -> Result<Self, PluginError> {
        let parameter: Value = serde_json::from_str(parameter)
            .map_err(|error| PluginError::config(format!("parameter is not JSON: {error}")))?;
        let column_index = parameter
            .get("columnIndex")
            .and_then(Value::as_u64)
            .ok_or_else(|| PluginError::config("parameter.columnIndex is required"))?;
        Ok(TestTag {
            column_index: column_index as usize,
            suffix: text_key(&parameter, "suffix")?,
            append_column: text_key(&parameter, "appendColumn")?,
            filter_if: text_key(&parameter, "filterIf")?,
            fail_if: text_key(&parameter, "failIf")?,
            panic_if: text_key(&parameter, "panicIf")?,
        })
    }

    fn transform(&self, record: &mut Record) -> Result<Verdict, PluginError> {
        let Some(column) = record.columns.get_mut(self.column_index) else {
            return Err(PluginError::data(format!(
                "the record has no column {}",
                self.column_index
            )));
        };
        let text = column_text(column);
        if self.panic_if.as_deref() == Some(text.as_str()) {
            panic!("test_tag panics on {text}");
        }
        if self.fail_if.as_deref() == Some(text.as_str()) {
            return Err(PluginError::data(format!("test_tag refuses {text}")));
        }
        if self.filter_if.as_deref() == Some(text.as_str()) {
            return Ok(Verdict::Filter);
        }
        if let Some(suffix) = &self.suffix {
            *column = Column::string(format!("{text}{suffix}"));
        }
        if let Some(extra) = &self.append_column {
            record.columns.push(Column::string(extra.clone()));
        }
        Ok(Verdict::Keep)
    }
}
