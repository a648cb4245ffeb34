//! Job parameters: DataX's `-p "-Dname=value …"` and `--param name=value`, substituted into the
//! job text before it is parsed, as DataX and DataWorks do.
//!
//! Rules (spec §9.2): `${name}` (dotted names allowed) must be defined, otherwise it is an error;
//! a bare `$name` is replaced only when `name` is defined (passwords contain `$`); `$${name}`
//! writes a literal `${name}`. A value replacing a placeholder inside a JSON string is JSON-escaped,
//! so a value with `"` or `\` stays inside its string; outside strings it is inserted as written.

use std::collections::BTreeMap;

use crate::error::JobError;
use crate::lenient::{line_column, string_end};

/// Named parameter values; a later definition of a name replaces the earlier one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses DataX's `-p` argument: `-Dname=value` options separated by spaces. A value may be
    /// quoted with `'` or `"` to hold spaces: `-Dwhere='a = 1'`.
    pub fn parse_datax_args(args: &str) -> Result<Self, JobError> {
        let mut params = Self::new();
        params.add_datax_args(args)?;
        Ok(params)
    }

    /// Adds the options of one more `-p` argument.
    pub fn add_datax_args(&mut self, args: &str) -> Result<(), JobError> {
        for word in split_words(args)? {
            let pair = word.strip_prefix("-D").ok_or_else(|| JobError::BadParam {
                argument: word.clone(),
                reason: "expected -Dname=value".to_string(),
            })?;
            self.add_pair(pair)?;
        }
        Ok(())
    }

    /// Adds one `name=value` (the `--param` form). The value may be empty or contain `=`.
    pub fn add_pair(&mut self, pair: &str) -> Result<(), JobError> {
        let bad = |reason: &str| JobError::BadParam {
            argument: pair.to_string(),
            reason: reason.to_string(),
        };
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| bad("expected name=value"))?;
        if name.is_empty() || !name.chars().all(is_braced_name_char) {
            return Err(bad(
                "a parameter name is made of letters, digits, `_`, `.` and `-`",
            ));
        }
        self.insert(name, value);
        Ok(())
    }

    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), value.into());
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Replaces the placeholders of `text` (a cleaned job text, see `lenient`). `raw` is the text
    /// as written, with the same byte offsets, used to report positions.
    pub(crate) fn substitute(&self, text: &str, raw: &str) -> Result<Substituted, JobError> {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut splices = Vec::new();
        let mut copied = 0;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    let end = string_end(bytes, i);
                    for found in self.placeholders(text, i + 1, end, raw)? {
                        splice(text, &mut out, &mut copied, &mut splices, found, true);
                    }
                    i = end;
                }
                b'$' => match self.placeholder_at(text, i, raw)? {
                    Some(found) => {
                        i = found.end;
                        splice(text, &mut out, &mut copied, &mut splices, found, false);
                    }
                    None => i += 1,
                },
                _ => i += 1,
            }
        }
        out.push_str(&text[copied..]);
        Ok(Substituted { text: out, splices })
    }

    fn placeholders(
        &self,
        text: &str,
        start: usize,
        end: usize,
        raw: &str,
    ) -> Result<Vec<Placeholder>, JobError> {
        let mut found = Vec::new();
        let mut i = start;
        while i < end {
            let placeholder = if text.as_bytes()[i] == b'$' {
                self.placeholder_at(&text[..end], i, raw)?
            } else {
                None
            };
            match placeholder {
                Some(placeholder) => {
                    i = placeholder.end;
                    found.push(placeholder);
                }
                None => i += 1,
            }
        }
        Ok(found)
    }

    /// The placeholder starting at `start` (a `$`), if there is one.
    fn placeholder_at(
        &self,
        text: &str,
        start: usize,
        raw: &str,
    ) -> Result<Option<Placeholder>, JobError> {
        let rest = &text[start..];
        if let Some(name) = rest.strip_prefix("$$").and_then(braced_name) {
            return Ok(Some(Placeholder {
                start,
                end: start + name.len() + 4,
                value: format!("${{{name}}}"),
            }));
        }
        if let Some(name) = braced_name(&rest[1..]) {
            let value = self.get(name).ok_or_else(|| {
                let (line, column) = line_column(raw, start);
                JobError::UnresolvedParam {
                    name: name.to_string(),
                    line,
                    column,
                }
            })?;
            return Ok(Some(Placeholder {
                start,
                end: start + name.len() + 3,
                value: value.to_string(),
            }));
        }
        // DataX's bare form takes the longest run of word characters (its regex is `\$\{?\w+\}?`).
        let name_len = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len() - 1);
        Ok(self
            .get(&rest[1..1 + name_len])
            .filter(|_| name_len > 0)
            .map(|value| Placeholder {
                start,
                end: start + 1 + name_len,
                value: value.to_string(),
            }))
    }
}

fn is_braced_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// `name` when `text` starts with `{name}`.
fn braced_name(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('{')?;
    let len = inner.find('}')?;
    let name = &inner[..len];
    (!name.is_empty() && name.chars().all(is_braced_name_char)).then_some(name)
}

struct Placeholder {
    start: usize,
    end: usize,
    value: String,
}

fn splice(
    text: &str,
    out: &mut String,
    copied: &mut usize,
    splices: &mut Vec<Splice>,
    found: Placeholder,
    in_string: bool,
) {
    out.push_str(&text[*copied..found.start]);
    let out_start = out.len();
    if in_string {
        let quoted = serde_json::Value::String(found.value).to_string();
        out.push_str(&quoted[1..quoted.len() - 1]);
    } else {
        out.push_str(&found.value);
    }
    splices.push(Splice {
        src_start: found.start,
        src_end: found.end,
        out_end: out.len(),
        out_start,
    });
    *copied = found.end;
}

/// Where a replacement sits in the source text and in the substituted text.
struct Splice {
    src_start: usize,
    src_end: usize,
    out_start: usize,
    out_end: usize,
}

/// The substituted text, and how to find the source position of any of its bytes.
pub(crate) struct Substituted {
    pub text: String,
    splices: Vec<Splice>,
}

impl Substituted {
    /// The source offset of `offset` in the substituted text (the placeholder's start when the
    /// offset falls inside a replacement).
    pub fn source_offset(&self, offset: usize) -> usize {
        let mut shift = 0isize;
        for splice in &self.splices {
            if offset < splice.out_start {
                break;
            }
            if offset < splice.out_end {
                return splice.src_start;
            }
            shift = splice.src_end as isize - splice.out_end as isize;
        }
        offset.saturating_add_signed(shift)
    }
}

/// Splits on whitespace; `'…'` and `"…"` group words and are removed, as a shell would.
fn split_words(args: &str) -> Result<Vec<String>, JobError> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in args.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.get_or_insert_with(String::new).push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            None if c.is_whitespace() => words.extend(word.take()),
            None => word.get_or_insert_with(String::new).push(c),
        }
    }
    if quote.is_some() {
        return Err(JobError::BadParam {
            argument: args.to_string(),
            reason: "a quote is not closed".to_string(),
        });
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(params: &Params, text: &str) -> Result<String, JobError> {
        params.substitute(text, text).map(|s| s.text)
    }

    #[test]
    fn source_offset_maps_across_replacements() {
        let params = Params::parse_datax_args("-Da=LONGER -Dbb=x").unwrap();
        let text = r#"{"k": "${a}/${bb}", "z": 1}"#;
        let substituted = params.substitute(text, text).unwrap();
        assert_eq!(substituted.text, r#"{"k": "LONGER/x", "z": 1}"#);
        let z_out = substituted.text.find("\"z\"").unwrap();
        assert_eq!(
            substituted.source_offset(z_out),
            text.find("\"z\"").unwrap()
        );
        let inside = substituted.text.find("NG").unwrap();
        assert_eq!(
            substituted.source_offset(inside),
            text.find("${a}").unwrap()
        );
    }

    #[test]
    fn bare_name_takes_the_longest_word() {
        let params = Params::parse_datax_args("-Dday=1").unwrap();
        assert_eq!(
            run(&params, r#"["$day", "$day_x", "$$day"]"#).unwrap(),
            r#"["1", "$day_x", "$1"]"#
        );
    }

    #[test]
    fn split_words_honours_quotes() {
        assert_eq!(
            split_words(r#" -Da='x y'  -Db="" -Dc=1"#).unwrap(),
            vec!["-Da=x y", "-Db=", "-Dc=1"]
        );
    }
}
