//! MaxCompute column types and table schemas (odps-tunnel.md §3.1, §6, §11).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A column type, parsed case-insensitively from its type string (`decimal(18,3)`,
/// `array<struct<a:bigint,b:string>>`, backticks allowed around struct field names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OdpsType {
    /// BIGINT, INT, SMALLINT, TINYINT: all zigzag varints on the wire.
    Integer,
    Double,
    Float,
    Boolean,
    /// STRING, VARCHAR(n), CHAR(n): text.
    Text,
    Json,
    Binary,
    Datetime,
    Date,
    Timestamp,
    TimestampNtz,
    Decimal,
    IntervalDayTime,
    IntervalYearMonth,
    Array(Box<OdpsType>),
    Map(Box<OdpsType>, Box<OdpsType>),
    Struct(Vec<(String, OdpsType)>),
}

impl OdpsType {
    pub fn parse(text: &str) -> Result<OdpsType, String> {
        let mut parser = TypeParser { text, pos: 0 };
        let parsed = parser.parse_type()?;
        parser.skip_spaces();
        if parser.pos != text.len() {
            return Err(format!("unexpected text after the type in \"{text}\""));
        }
        Ok(parsed)
    }
}

struct TypeParser<'a> {
    text: &'a str,
    pos: usize,
}

impl TypeParser<'_> {
    fn skip_spaces(&mut self) {
        while self.text[self.pos..].starts_with(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, expected: char) -> bool {
        self.skip_spaces();
        if self.text[self.pos..].starts_with(expected) {
            self.pos += expected.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, expected: char) -> Result<(), String> {
        if self.eat(expected) {
            Ok(())
        } else {
            Err(format!(
                "expected '{expected}' at position {} of \"{}\"",
                self.pos, self.text
            ))
        }
    }

    /// A name: letters, digits, `_`, or anything between backticks.
    fn word(&mut self) -> Result<String, String> {
        self.skip_spaces();
        let rest = &self.text[self.pos..];
        if let Some(quoted) = rest.strip_prefix('`') {
            let end = quoted
                .find('`')
                .ok_or_else(|| format!("unclosed '`' in \"{}\"", self.text))?;
            self.pos += end + 2;
            return Ok(quoted[..end].to_string());
        }
        let length = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if length == 0 {
            return Err(format!(
                "expected a name at position {} of \"{}\"",
                self.pos, self.text
            ));
        }
        self.pos += length;
        Ok(rest[..length].to_string())
    }

    /// Skips `(n)` or `(p,s)` after a type name: the reader needs no lengths or precisions.
    fn skip_arguments(&mut self) -> Result<(), String> {
        if self.eat('(') {
            let end = self.text[self.pos..]
                .find(')')
                .ok_or_else(|| format!("unclosed '(' in \"{}\"", self.text))?;
            self.pos += end + 1;
        }
        Ok(())
    }

    fn parse_type(&mut self) -> Result<OdpsType, String> {
        let name = self.word()?.to_ascii_lowercase();
        let parsed = match name.as_str() {
            "bigint" | "int" | "smallint" | "tinyint" => OdpsType::Integer,
            "double" => OdpsType::Double,
            "float" => OdpsType::Float,
            "boolean" => OdpsType::Boolean,
            "string" | "varchar" | "char" => OdpsType::Text,
            "json" => OdpsType::Json,
            "binary" => OdpsType::Binary,
            "datetime" => OdpsType::Datetime,
            "date" => OdpsType::Date,
            "timestamp" => OdpsType::Timestamp,
            "timestamp_ntz" => OdpsType::TimestampNtz,
            "decimal" => OdpsType::Decimal,
            "interval_day_time" => OdpsType::IntervalDayTime,
            "interval_year_month" => OdpsType::IntervalYearMonth,
            "array" => {
                self.expect('<')?;
                let element = self.parse_type()?;
                self.expect('>')?;
                return Ok(OdpsType::Array(Box::new(element)));
            }
            "map" => {
                self.expect('<')?;
                let key = self.parse_type()?;
                self.expect(',')?;
                let value = self.parse_type()?;
                self.expect('>')?;
                return Ok(OdpsType::Map(Box::new(key), Box::new(value)));
            }
            "struct" => {
                self.expect('<')?;
                let mut fields = Vec::new();
                loop {
                    let field = self.word()?;
                    self.expect(':')?;
                    fields.push((field, self.parse_type()?));
                    if !self.eat(',') {
                        break;
                    }
                }
                self.expect('>')?;
                return Ok(OdpsType::Struct(fields));
            }
            other => return Err(format!("unknown type \"{other}\" in \"{}\"", self.text)),
        };
        self.skip_arguments()?;
        Ok(parsed)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SchemaColumn {
    pub name: String,
    /// The type string as the service wrote it, for messages and task configurations.
    pub type_name: String,
    pub odps_type: OdpsType,
}

/// A table's data columns and partition keys, in table order. Serialised as the service's
/// schema JSON (task configurations carry it so).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "Value")]
pub struct TableSchema {
    pub columns: Vec<SchemaColumn>,
    pub partition_keys: Vec<SchemaColumn>,
}

impl TryFrom<Value> for TableSchema {
    type Error = String;

    fn try_from(schema: Value) -> Result<Self, String> {
        TableSchema::from_json(&schema)
    }
}

impl From<TableSchema> for Value {
    fn from(schema: TableSchema) -> Value {
        schema.to_json()
    }
}

impl TableSchema {
    /// From the schema JSON of the REST `<Table>` document or of a download session:
    /// `{"columns": [{"name", "type"}], "partitionKeys": [...]}`.
    pub fn from_json(schema: &Value) -> Result<TableSchema, String> {
        let list = |key: &str| -> Result<Vec<SchemaColumn>, String> {
            let Some(entries) = schema.get(key) else {
                return Ok(Vec::new());
            };
            let entries = entries
                .as_array()
                .ok_or_else(|| format!("the schema's {key} is not a list"))?;
            entries
                .iter()
                .map(|entry| {
                    let name = entry["name"]
                        .as_str()
                        .ok_or_else(|| format!("a column in the schema's {key} has no name"))?;
                    let type_name = entry["type"]
                        .as_str()
                        .ok_or_else(|| format!("column {name} has no type"))?;
                    Ok(SchemaColumn {
                        name: name.to_string(),
                        type_name: type_name.to_string(),
                        odps_type: OdpsType::parse(type_name)
                            .map_err(|error| format!("column {name}: {error}"))?,
                    })
                })
                .collect()
        };
        Ok(TableSchema {
            columns: list("columns")?,
            partition_keys: list("partitionKeys")?,
        })
    }

    pub fn to_json(&self) -> Value {
        let list = |columns: &[SchemaColumn]| {
            columns
                .iter()
                .map(|column| json!({"name": column.name, "type": column.type_name}))
                .collect::<Vec<_>>()
        };
        json!({"columns": list(&self.columns), "partitionKeys": list(&self.partition_keys)})
    }

    pub fn is_partitioned(&self) -> bool {
        !self.partition_keys.is_empty()
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|column| column.name.eq_ignore_ascii_case(name))
    }

    pub fn partition_key_index(&self, name: &str) -> Option<usize> {
        self.partition_keys
            .iter()
            .position(|column| column.name.eq_ignore_ascii_case(name))
    }

    pub fn partition_key_names(&self) -> Vec<&str> {
        self.partition_keys
            .iter()
            .map(|key| key.name.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_type_strings_case_insensitively() {
        assert_eq!(OdpsType::parse("BIGINT"), Ok(OdpsType::Integer));
        assert_eq!(OdpsType::parse("decimal(18, 3)"), Ok(OdpsType::Decimal));
        assert_eq!(OdpsType::parse("varchar(16)"), Ok(OdpsType::Text));
        assert_eq!(
            OdpsType::parse("map<string,array<bigint>>"),
            Ok(OdpsType::Map(
                Box::new(OdpsType::Text),
                Box::new(OdpsType::Array(Box::new(OdpsType::Integer)))
            ))
        );
        assert_eq!(
            OdpsType::parse("struct<`a b`:bigint, c:string>"),
            Ok(OdpsType::Struct(vec![
                ("a b".to_string(), OdpsType::Integer),
                ("c".to_string(), OdpsType::Text)
            ]))
        );
        assert_eq!(
            OdpsType::parse("uuid"),
            Err("unknown type \"uuid\" in \"uuid\"".to_string())
        );
        assert!(OdpsType::parse("array<bigint").is_err());
    }
}
