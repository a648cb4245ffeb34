//! Lenient JSON: the comments, trailing commas and no-break spaces of real DataWorks files.
//! A comment is `//` or `/* */`, or a lone `/` (not followed by `/` or `*`) outside a string,
//! which DataWorks' editor saved before a note and which runs to the end of its line.
//!
//! `clean` blanks them out with spaces of the same byte length, so every byte offset of the
//! cleaned text is the offset of the same byte in the original: errors found later (by the
//! parameter substitution or by serde_json) point at the line and column the user wrote.

use crate::error::JobError;

/// The text with the accepted non-JSON bits replaced by spaces, and one warning for each kind.
pub(crate) struct Cleaned {
    pub text: String,
    pub warnings: Vec<String>,
}

const NBSP: [u8; 2] = [0xC2, 0xA0];

pub(crate) fn clean(raw: &str) -> Result<Cleaned, JobError> {
    let bytes = raw.as_bytes();
    let mut out = bytes.to_vec();
    let mut warnings = Vec::new();
    let mut first_nbsp = None;
    let mut nbsp_count = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = string_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = line_comment_end(bytes, i);
                blank(&mut out[i..end]);
                warnings.push(at(raw, i, "`//` comment ignored"));
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = block_comment_end(bytes, i).ok_or_else(|| {
                    let (line, column) = line_column(raw, i);
                    JobError::Syntax {
                        line,
                        column,
                        path: json_path_at(raw, i),
                        message: "`/*` comment is never closed with `*/`".to_string(),
                    }
                })?;
                blank(&mut out[i..end]);
                warnings.push(at(raw, i, "`/* */` comment ignored"));
                i = end;
            }
            // DataWorks' editor saved files with a single `/` before a note (`8,/作业速率上限`):
            // outside a string a `/` is never JSON, so it can only be such a comment.
            b'/' => {
                let end = line_comment_end(bytes, i);
                blank(&mut out[i..end]);
                warnings.push(at(
                    raw,
                    i,
                    "lone `/` read as a comment to the end of the line",
                ));
                i = end;
            }
            b',' => {
                if matches!(next_significant(bytes, i + 1), Some(b'}' | b']')) {
                    out[i] = b' ';
                    warnings.push(at(raw, i, "trailing comma ignored"));
                }
                i += 1;
            }
            _ if bytes[i..].starts_with(&NBSP) => {
                out[i..i + 2].copy_from_slice(b"  ");
                first_nbsp.get_or_insert(i);
                nbsp_count += 1;
                i += 2;
            }
            _ => i += 1,
        }
    }
    // Indentation made of no-break spaces gives hundreds of them: one warning says it all.
    if let Some(first) = first_nbsp {
        warnings.push(at(
            raw,
            first,
            &format!("no-break space (U+00A0) read as whitespace ({nbsp_count} in the file)"),
        ));
    }
    let text = String::from_utf8(out).expect("only whole UTF-8 characters are replaced");
    Ok(Cleaned { text, warnings })
}

fn at(raw: &str, offset: usize, what: &str) -> String {
    let (line, column) = line_column(raw, offset);
    format!("line {line}, column {column}: {what} (not standard JSON)")
}

/// Spaces keep the byte length; newlines are kept so the cleaned text has the same lines.
fn blank(bytes: &mut [u8]) {
    for b in bytes.iter_mut().filter(|b| **b != b'\n') {
        *b = b' ';
    }
}

/// Offset just after the string starting at `start` (a `"`), or the end of an unterminated one.
pub(crate) fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn line_comment_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |n| start + n)
}

fn block_comment_end(bytes: &[u8], start: usize) -> Option<usize> {
    bytes[start + 2..]
        .windows(2)
        .position(|w| w == b"*/")
        .map(|n| start + 2 + n + 2)
}

/// The first byte after `from` that is neither whitespace nor part of a comment.
fn next_significant(bytes: &[u8], from: usize) -> Option<u8> {
    let mut i = from;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
        } else if bytes[i..].starts_with(&NBSP) {
            i += 2;
        } else if bytes[i..].starts_with(b"//") {
            i = line_comment_end(bytes, i);
        } else if bytes[i..].starts_with(b"/*") {
            i = block_comment_end(bytes, i)?;
        } else if bytes[i] == b'/' {
            i = line_comment_end(bytes, i);
        } else {
            return Some(bytes[i]);
        }
    }
    None
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    let line = before.matches('\n').count() + 1;
    (line, before[line_start..].chars().count() + 1)
}

/// The byte offset of serde_json's 1-based line and (byte) column.
pub(crate) fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(n, _)| n + 1)
    };
    (line_start + column.saturating_sub(1)).min(text.len())
}

enum Frame {
    Object {
        key: Option<String>,
        expect_key: bool,
    },
    Array {
        index: usize,
    },
}

/// The JSON path (`configuration.setting.speed`, `steps[1]`) of the value being read at
/// `offset`, from a quick scan of the text before it. Best effort: it serves error messages.
pub(crate) fn json_path_at(text: &str, offset: usize) -> String {
    let bytes = &text.as_bytes()[..offset.min(text.len())];
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let end = string_end(bytes, i);
                if let Some(Frame::Object { key, expect_key }) = stack.last_mut() {
                    if *expect_key {
                        let inner = &bytes[i + 1..end.saturating_sub(1).max(i + 1)];
                        *key = Some(String::from_utf8_lossy(inner).into_owned());
                        *expect_key = false;
                    }
                }
                i = end;
                continue;
            }
            b'{' => stack.push(Frame::Object {
                key: None,
                expect_key: true,
            }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { key, expect_key }) => {
                    *key = None;
                    *expect_key = true;
                }
                Some(Frame::Array { index }) => *index += 1,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object { key: Some(key), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Object { key: None, .. } => break,
            Frame::Array { index } => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_comments_commas_and_nbsp_keeping_byte_offsets() {
        let raw = "{\"a\": 1, // note\n\u{a0}\"b\": [2, /* x */ 3,],}";
        let cleaned = clean(raw).unwrap();
        assert_eq!(cleaned.text.len(), raw.len());
        assert_eq!(
            cleaned.text,
            concat!(
                "{\"a\": 1, ",
                "       ",
                "\n",
                "  \"b\": [2, ",
                "       ",
                " 3 ] }"
            )
        );
        assert_eq!(cleaned.warnings.len(), 5, "{:?}", cleaned.warnings);
    }

    #[test]
    fn a_lone_slash_is_a_comment_to_the_end_of_its_line_with_a_warning() {
        let raw = "{\"mbps\": 8,/作业速率上限\n\"n\": 7 /x,\n}";
        let cleaned = clean(raw).unwrap();
        assert_eq!(cleaned.text.len(), raw.len());
        let value: serde_json::Value = serde_json::from_str(&cleaned.text).unwrap();
        assert_eq!(value, serde_json::json!({"mbps": 8, "n": 7}));
        assert_eq!(
            cleaned.warnings[0],
            "line 1, column 12: lone `/` read as a comment to the end of the line \
             (not standard JSON)"
        );
        // `/x,` hides the comma: nothing trails, so no trailing comma is warned.
        assert_eq!(cleaned.warnings.len(), 2, "{:?}", cleaned.warnings);
    }

    #[test]
    fn leaves_slashes_inside_strings() {
        let raw = r#"{"url": "http://x/*y*/", "q": "a\"//b"}"#;
        let cleaned = clean(raw).unwrap();
        assert_eq!(cleaned.text, raw);
        assert!(cleaned.warnings.is_empty());
    }

    #[test]
    fn line_column_counts_characters() {
        let text = "ab\n作业x";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, text.find('x').unwrap()), (2, 3));
    }

    #[test]
    fn offset_of_inverts_byte_columns() {
        let text = "ab\ncde\nf";
        assert_eq!(offset_of(text, 2, 2), 4);
        assert_eq!(offset_of(text, 3, 1), 7);
    }

    #[test]
    fn json_path_at_follows_keys_and_indexes() {
        let text = r#"{"steps": [{"a": 1}, {"parameter": {"x": "#;
        assert_eq!(json_path_at(text, text.len()), "steps[1].parameter.x");
        let text = r#"{"a": {"b": 1, "#;
        assert_eq!(json_path_at(text, text.len()), "a");
    }
}
