//! MaxCompute column types and values (odps-tunnel.md §5.2, §6).

use std::fmt;

/// A MaxCompute column type, parsed case-insensitively from its type string
/// (`decimal(18,3)`, `array<struct<a:bigint,b:string>>`, …; odps-tunnel.md §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OdpsType {
    Bigint,
    Int,
    Smallint,
    Tinyint,
    Double,
    Float,
    Boolean,
    String,
    Varchar(u32),
    Char(u32),
    Binary,
    Json,
    Datetime,
    Date,
    Timestamp,
    TimestampNtz,
    Decimal { precision: u32, scale: u32 },
    Array(Box<OdpsType>),
    Map(Box<OdpsType>, Box<OdpsType>),
    Struct(Vec<(String, OdpsType)>),
}

/// A cell value. `Bytes` carries STRING, VARCHAR, CHAR, BINARY, JSON and DECIMAL (as its
/// decimal text), which all travel as length-prefixed bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Double(f64),
    Float(f32),
    Bool(bool),
    Bytes(Vec<u8>),
    /// Milliseconds since the Unix epoch.
    Datetime(i64),
    /// Days since 1970-01-01.
    Date(i64),
    /// Seconds since the epoch (floored) and nanoseconds in `[0, 1e9)`.
    Timestamp {
        seconds: i64,
        nanos: i32,
    },
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Struct(Vec<Value>),
}

impl OdpsType {
    pub fn parse(text: &str) -> Result<OdpsType, String> {
        let mut parser = TypeParser { text, pos: 0 };
        let parsed = parser.parse_type()?;
        parser.skip_spaces();
        if parser.pos != text.len() {
            return Err(format!("unexpected text after type in '{text}'"));
        }
        Ok(parsed)
    }
}

impl fmt::Display for OdpsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OdpsType::Bigint => f.write_str("bigint"),
            OdpsType::Int => f.write_str("int"),
            OdpsType::Smallint => f.write_str("smallint"),
            OdpsType::Tinyint => f.write_str("tinyint"),
            OdpsType::Double => f.write_str("double"),
            OdpsType::Float => f.write_str("float"),
            OdpsType::Boolean => f.write_str("boolean"),
            OdpsType::String => f.write_str("string"),
            OdpsType::Varchar(n) => write!(f, "varchar({n})"),
            OdpsType::Char(n) => write!(f, "char({n})"),
            OdpsType::Binary => f.write_str("binary"),
            OdpsType::Json => f.write_str("json"),
            OdpsType::Datetime => f.write_str("datetime"),
            OdpsType::Date => f.write_str("date"),
            OdpsType::Timestamp => f.write_str("timestamp"),
            OdpsType::TimestampNtz => f.write_str("timestamp_ntz"),
            OdpsType::Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            OdpsType::Array(element) => write!(f, "array<{element}>"),
            OdpsType::Map(key, value) => write!(f, "map<{key},{value}>"),
            OdpsType::Struct(fields) => {
                f.write_str("struct<")?;
                for (i, (name, field_type)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{name}:{field_type}")?;
                }
                f.write_str(">")
            }
        }
    }
}

struct TypeParser<'a> {
    text: &'a str,
    pos: usize,
}

impl TypeParser<'_> {
    fn skip_spaces(&mut self) {
        while self.text[self.pos..].starts_with(' ') {
            self.pos += 1;
        }
    }

    fn word(&mut self) -> String {
        self.skip_spaces();
        let rest = &self.text[self.pos..];
        let (word, len) = if let Some(quoted) = rest.strip_prefix('`') {
            // Struct field names may be quoted with backticks (odps-tunnel.md §10).
            let end = quoted.find('`').unwrap_or(quoted.len());
            (quoted[..end].to_string(), end + 2)
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (rest[..end].to_string(), end)
        };
        self.pos = (self.pos + len).min(self.text.len());
        word
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        self.skip_spaces();
        if self.text[self.pos..].starts_with(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected '{c}' at {} in '{}'", self.pos, self.text))
        }
    }

    fn peek(&mut self, c: char) -> bool {
        self.skip_spaces();
        self.text[self.pos..].starts_with(c)
    }

    fn number(&mut self) -> Result<u32, String> {
        let word = self.word();
        word.parse()
            .map_err(|_| format!("expected a number, got '{word}' in '{}'", self.text))
    }

    fn parse_type(&mut self) -> Result<OdpsType, String> {
        let name = self.word().to_ascii_lowercase();
        Ok(match name.as_str() {
            "bigint" => OdpsType::Bigint,
            "int" => OdpsType::Int,
            "smallint" => OdpsType::Smallint,
            "tinyint" => OdpsType::Tinyint,
            "double" => OdpsType::Double,
            "float" => OdpsType::Float,
            "boolean" => OdpsType::Boolean,
            "string" => OdpsType::String,
            "binary" => OdpsType::Binary,
            "json" => OdpsType::Json,
            "datetime" => OdpsType::Datetime,
            "date" => OdpsType::Date,
            "timestamp" => OdpsType::Timestamp,
            "timestamp_ntz" => OdpsType::TimestampNtz,
            "varchar" | "char" => {
                self.expect('(')?;
                let length = self.number()?;
                self.expect(')')?;
                if name == "varchar" {
                    OdpsType::Varchar(length)
                } else {
                    OdpsType::Char(length)
                }
            }
            "decimal" => {
                // Bare `decimal` is the MaxCompute 1.0 type, decimal(54,18).
                if self.peek('(') {
                    self.expect('(')?;
                    let precision = self.number()?;
                    self.expect(',')?;
                    let scale = self.number()?;
                    self.expect(')')?;
                    OdpsType::Decimal { precision, scale }
                } else {
                    OdpsType::Decimal {
                        precision: 54,
                        scale: 18,
                    }
                }
            }
            "array" => {
                self.expect('<')?;
                let element = self.parse_type()?;
                self.expect('>')?;
                OdpsType::Array(Box::new(element))
            }
            "map" => {
                self.expect('<')?;
                let key = self.parse_type()?;
                self.expect(',')?;
                let value = self.parse_type()?;
                self.expect('>')?;
                OdpsType::Map(Box::new(key), Box::new(value))
            }
            "struct" => {
                self.expect('<')?;
                let mut fields = Vec::new();
                loop {
                    let field_name = self.word();
                    if field_name.is_empty() {
                        return Err(format!("missing struct field name in '{}'", self.text));
                    }
                    self.expect(':')?;
                    fields.push((field_name, self.parse_type()?));
                    if self.peek(',') {
                        self.expect(',')?;
                    } else {
                        break;
                    }
                }
                self.expect('>')?;
                OdpsType::Struct(fields)
            }
            other => return Err(format!("unknown type '{other}' in '{}'", self.text)),
        })
    }
}
