//! `dx_script`: a [Rhai](https://rhai.rs) script per record, for what DataX jobs wrote in
//! `dx_groovy`. `{"name": "dx_script", "parameter": {"code": "...", "maxOperations": 100000}}`.
//!
//! The script sees the record as `record`, a list of column values it may change, extend or
//! shorten; `return false` filters the record (DataX's Groovy `return null`), any other
//! result keeps it as the script left it. `md5(text)` and `sha1(text)` give lower-case hex, as
//! DataX's `GroovyTransformerStaticUtil`.
//!
//! Sandbox: Rhai itself has no file, network or process access, modules are compiled out
//! (`no_module`: no `import`), and `print`/`debug` go to datax's log. Each record's run is
//! bounded by `maxOperations`, by size limits on strings, lists and maps and by a number of
//! variables; a record that exceeds one, or on which the script fails, is dirty.
//!
//! Column values (docs/transformers.md): null is `()`, bool `bool`, long an integer, double a
//! float, string a string, bytes a blob; decimal, date, time, datetime and timestamp columns
//! are given as their DataX text and keep their kind when the script leaves that text at the
//! same place; any other string becomes a string column.

use datax_plugin_api::{Column, Record};
use md5::Md5;
use rhai::{Array, Blob, Dynamic, Engine, EvalAltResult, ImmutableString, ParseError, Scope, AST};
use serde_json::Value;
use sha1::{Digest as _, Sha1};

use super::digest::hex;
use super::{column_text, Failure, Stage, Verdict};
use crate::logger;

/// Operations one record's run may take unless `maxOperations` says otherwise.
const DEFAULT_MAX_OPERATIONS: u64 = 100_000;
/// The largest `maxOperations` accepted: still well under a second per record.
const MAX_MAX_OPERATIONS: u64 = 100_000_000;
/// Strings a script builds, in bytes.
const MAX_STRING_BYTES: usize = 16 << 20;
/// Lists (the record included) and maps a script builds, in items.
const MAX_ITEMS: usize = 65_536;
const MAX_CALL_LEVELS: usize = 32;
/// Variables alive at once (`record` included): with the size limits, what bounds a run's memory.
const MAX_VARIABLES: usize = 32;

pub struct Script {
    engine: Engine,
    ast: AST,
    max_operations: u64,
}

impl Script {
    /// Compiles `parameter.code`; a syntax error names its line and column.
    pub fn new(parameter: &Value) -> Result<Script, String> {
        let code = match parameter.get("code") {
            Some(Value::String(code)) if !code.trim().is_empty() => code,
            None | Some(Value::Null) => {
                return Err("parameter.code (a Rhai script) is required".into())
            }
            Some(other) => {
                return Err(format!(
                    "parameter.code must be a script (text), found {other}"
                ))
            }
        };
        let max_operations = match parameter.get("maxOperations") {
            None | Some(Value::Null) => DEFAULT_MAX_OPERATIONS,
            Some(value) => value
                .as_u64()
                .filter(|limit| (1..=MAX_MAX_OPERATIONS).contains(limit))
                .ok_or_else(|| {
                    format!(
                        "parameter.maxOperations must be a whole number from 1 to \
                         {MAX_MAX_OPERATIONS}, found {value}"
                    )
                })?,
        };
        let engine = sandboxed_engine(max_operations);
        let ast = engine.compile(code).map_err(compile_error)?;
        Ok(Script {
            engine,
            ast,
            max_operations,
        })
    }

    fn describe(&self, error: &EvalAltResult) -> String {
        match error {
            EvalAltResult::ErrorTooManyOperations(position) => format!(
                "the script ran past maxOperations ({}) on this record{}",
                self.max_operations,
                at(position.line(), position.position())
            ),
            other => format!("the script failed: {other}"),
        }
    }
}

fn sandboxed_engine(max_operations: u64) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(max_operations)
        .set_max_string_size(MAX_STRING_BYTES)
        .set_max_array_size(MAX_ITEMS)
        .set_max_map_size(MAX_ITEMS)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_variables(MAX_VARIABLES)
        .on_print(|text| logger::info("dx_script", text))
        .on_debug(|text, _, _| logger::debug("dx_script", text));
    engine.register_fn("md5", |text: &str| {
        hex(&Md5::digest(text.as_bytes()), false)
    });
    engine.register_fn("sha1", |text: &str| {
        hex(&Sha1::digest(text.as_bytes()), false)
    });
    engine
}

fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" at line {line}, column {column}"),
        (Some(line), None) => format!(" at line {line}"),
        _ => String::new(),
    }
}

fn compile_error(error: ParseError) -> String {
    let ParseError(kind, position) = error;
    format!(
        "parameter.code does not compile: {kind}{}",
        at(position.line(), position.position())
    )
}

impl Stage for Script {
    fn run(&self, record: &mut Record) -> Result<Verdict, Failure> {
        // The text given for each column of a kind the script has no type for.
        let mut given = Vec::with_capacity(record.columns.len());
        let values = record
            .columns
            .iter()
            .map(|column| {
                let (value, text) = to_dynamic(column)?;
                given.push(text);
                Ok(value)
            })
            .collect::<Result<Array, String>>()
            .map_err(Failure::Record)?;
        let mut scope = Scope::new();
        scope.push("record", values);
        let result: Dynamic = self
            .engine
            .eval_ast_with_scope(&mut scope, &self.ast)
            .map_err(|error| Failure::Record(self.describe(&error)))?;
        if result.as_bool() == Ok(false) {
            return Ok(Verdict::Filter);
        }
        let values = scope
            .remove::<Dynamic>("record")
            .and_then(|value| value.try_cast::<Array>())
            .ok_or_else(|| Failure::Record("`record` must stay a list of column values".into()))?;
        let columns = values
            .into_iter()
            .enumerate()
            .map(|(index, value)| {
                let kept = record
                    .columns
                    .get(index)
                    .zip(given.get(index).and_then(Option::as_ref));
                to_column(value, kept, index)
            })
            .collect::<Result<Vec<Column>, String>>()
            .map_err(Failure::Record)?;
        record.columns.clear();
        record.columns.extend(columns);
        Ok(Verdict::Keep)
    }
}

/// A column's script value, and the text it was given as when its kind has no script type.
fn to_dynamic(column: &Column) -> Result<(Dynamic, Option<ImmutableString>), String> {
    let value = match column {
        Column::Null => Dynamic::UNIT,
        Column::Bool(value) => Dynamic::from_bool(*value),
        Column::Long(value) => Dynamic::from_int(*value),
        Column::Double(value) => Dynamic::from_float(*value),
        Column::String(text) => Dynamic::from(text.to_string()),
        Column::Bytes(bytes) => Dynamic::from_blob(Blob::from(bytes.as_slice())),
        other => {
            let text = ImmutableString::from(column_text(other)?.unwrap_or_default().as_ref());
            return Ok((Dynamic::from(text.clone()), Some(text)));
        }
    };
    Ok((value, None))
}

/// The column a script value becomes. `kept` is the column that was at its place with the
/// text it was given as: the same text gives that column back, kind and all.
fn to_column(
    value: Dynamic,
    kept: Option<(&Column, &ImmutableString)>,
    index: usize,
) -> Result<Column, String> {
    if value.is_unit() {
        return Ok(Column::Null);
    }
    if let Ok(flag) = value.as_bool() {
        return Ok(Column::Bool(flag));
    }
    if let Ok(number) = value.as_int() {
        return Ok(Column::Long(number));
    }
    if let Ok(number) = value.as_float() {
        return Ok(Column::Double(number));
    }
    if let Ok(character) = value.as_char() {
        return Ok(Column::string(character.to_string()));
    }
    if value.is_string() {
        let text = value.into_immutable_string().map_err(str::to_string)?;
        return Ok(match kept {
            Some((original, given)) if *given == text => original.clone(),
            _ => Column::string(text.as_str()),
        });
    }
    if value.is_blob() {
        return Ok(Column::bytes(value.into_blob().map_err(str::to_string)?));
    }
    Err(format!(
        "record[{index}] is a {}; a column value must be () (null), a bool, an integer, a \
         float, a string or a blob",
        value.type_name()
    ))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use serde_json::json;

    use super::*;

    fn script(code: &str) -> Script {
        Script::new(&json!({"code": code})).unwrap()
    }

    fn run(script: &Script, columns: Vec<Column>) -> Result<(Verdict, Record), String> {
        let mut record = Record::new(columns);
        match script.run(&mut record) {
            Ok(verdict) => Ok((verdict, record)),
            Err(Failure::Record(reason)) => Err(reason),
            Err(Failure::Task(error)) => panic!("a script never stops its task: {error}"),
        }
    }

    #[test]
    fn the_script_changes_adds_and_removes_columns_or_filters() {
        let upper = script(
            "record[0] = record[0].to_upper(); record.push(record[1] * 2); record.remove(1);",
        );
        let (verdict, record) = run(&upper, vec![Column::string("ab"), Column::Long(21)]).unwrap();
        assert_eq!(verdict, Verdict::Keep);
        assert_eq!(
            record.columns.as_slice(),
            [Column::string("AB"), Column::Long(42)]
        );

        let drop_small = script("if record[0] < 10 { return false; } record");
        let (verdict, _) = run(&drop_small, vec![Column::Long(3)]).unwrap();
        assert_eq!(verdict, Verdict::Filter);
        let (verdict, _) = run(&drop_small, vec![Column::Long(30)]).unwrap();
        assert_eq!(verdict, Verdict::Keep);
    }

    #[test]
    fn column_kinds_map_both_ways_and_untouched_text_keeps_its_kind() {
        let identity = script("record");
        let columns = vec![
            Column::Null,
            Column::Bool(true),
            Column::Long(-7),
            Column::Double(1.5),
            Column::string("héllo"),
            Column::bytes(vec![0, 255]),
            Column::decimal("12.340"),
            Column::Date(1),
        ];
        let (_, record) = run(&identity, columns.clone()).unwrap();
        assert_eq!(record.columns.as_slice(), columns.as_slice());

        let change = script("record[0] = record[0] + \"0\"; record[1] = 'x';");
        let (_, record) = run(&change, vec![Column::decimal("1.5"), Column::Null]).unwrap();
        assert_eq!(
            record.columns.as_slice(),
            [Column::string("1.50"), Column::string("x")]
        );
        let as_text = script("record[0] = record[0].to_string(); record.truncate(1);");
        let (_, record) = run(&as_text, vec![Column::Null, Column::Null]).unwrap();
        assert_eq!(
            record.columns.as_slice(),
            [Column::string("")],
            "null's text is empty"
        );

        let error = run(&script("record.push([1]);"), vec![]).unwrap_err();
        assert!(
            error.starts_with("record[0] is a array; a column value must be"),
            "{error}"
        );
        let error = run(&script("record = 5;"), vec![]).unwrap_err();
        assert_eq!(error, "`record` must stay a list of column values");
    }

    #[test]
    fn compile_errors_name_line_and_column() {
        let error = Script::new(&json!({"code": "let x = 1;\nrecord[0] = x +;"}))
            .err()
            .unwrap();
        assert!(
            error.starts_with("parameter.code does not compile: ")
                && error.ends_with(" at line 2, column 16"),
            "{error}"
        );
        let error = Script::new(&json!({})).err().unwrap();
        assert_eq!(error, "parameter.code (a Rhai script) is required");
        let error = Script::new(&json!({"code": "1", "maxOperations": 0}))
            .err()
            .unwrap();
        assert!(
            error.starts_with("parameter.maxOperations must be"),
            "{error}"
        );
    }

    #[test]
    fn an_endless_loop_stops_at_the_operation_limit_quickly() {
        let endless =
            Script::new(&json!({"code": "loop { record[0] += 1; }", "maxOperations": 50_000}))
                .unwrap();
        let started = Instant::now();
        let error = run(&endless, vec![Column::Long(0)]).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            error.starts_with("the script ran past maxOperations (50000) on this record"),
            "{error}"
        );
        let growing = script("let s = \"x\"; loop { s += s; }");
        let error = run(&growing, vec![]).unwrap_err();
        assert!(error.contains("too large"), "{error}");
        let runtime = script("record[5] = 1;");
        let error = run(&runtime, vec![Column::Null]).unwrap_err();
        assert!(error.starts_with("the script failed: "), "{error}");
    }

    #[test]
    fn variables_are_bounded() {
        let many: String = (0..40).map(|n| format!("let v{n} = {n};\n")).collect();
        let error = run(&script(&many), vec![]).unwrap_err();
        assert!(error.starts_with("the script failed: "), "{error}");
    }

    #[test]
    fn digests_as_datax_groovy_helpers() {
        let digests = script("record.push(md5(record[0])); record.push(sha1(record[0]));");
        let (_, record) = run(&digests, vec![Column::string("abc")]).unwrap();
        assert_eq!(
            record.columns[1..],
            [
                Column::string("900150983cd24fb0d6963f7d28e17f72"),
                Column::string("a9993e364706816aba3e25717850c26c9cd0d89d")
            ]
        );
    }
}
