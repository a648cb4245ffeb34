//! `dx_replace`: `paras: [startIndex, length, replacement]`, positions in UTF-16 units: the
//! `length` units from `startIndex` become the replacement, or everything from `startIndex`
//! when that reaches the end. A null stays null; a start past the end fails the record; a
//! negative length keeps Java's arithmetic (`"abcdef"`, 3, -1, `"X"` → `"abcXcdef"`).

use datax_plugin_api::Column;

use super::params::{int_para, Parameter};
use super::utf16::JavaText;
use super::{column_text, Transform, Verdict};

pub struct Replace {
    start: i32,
    length: i32,
    replacement: String,
}

impl Replace {
    pub fn new(parameter: &Parameter) -> Result<Self, String> {
        let paras = parameter.expect(&["startIndex", "length", "replacement"])?;
        Ok(Replace {
            start: int_para(paras, 0, "startIndex")?,
            length: int_para(paras, 1, "length")?,
            replacement: paras[2].clone(),
        })
    }
}

impl Transform for Replace {
    fn apply(&self, column: &mut Column) -> Result<Verdict, String> {
        let Some(text) = column_text(column)? else {
            return Ok(Verdict::Keep);
        };
        let java = JavaText::new(&text);
        let len = java.len();
        if self.start > len {
            return Err(format!(
                "dx_replace startIndex({}) out of range({len})",
                self.start
            ));
        }
        let end = self.start.wrapping_add(self.length);
        let mut result = java.substring(0, self.start)?.into_owned();
        result.push_str(&self.replacement);
        if end < len {
            result.push_str(&java.substring(end, len)?);
        }
        *column = Column::string(result);
        Ok(Verdict::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replace(start: i32, length: i32, column: Column) -> Result<Column, String> {
        let mut column = column;
        let replacement = "X".to_string();
        Replace {
            start,
            length,
            replacement,
        }
        .apply(&mut column)?;
        Ok(column)
    }

    #[test]
    fn as_datax() {
        let text = || Column::string("abcdef");
        assert_eq!(replace(1, 2, text()), Ok(Column::string("aXdef")));
        assert_eq!(replace(4, 10, text()), Ok(Column::string("abcdX")));
        assert_eq!(replace(6, 0, text()), Ok(Column::string("abcdefX")));
        assert_eq!(replace(3, -1, text()), Ok(Column::string("abcXcdef")));
        assert_eq!(
            replace(1, -2, text()),
            Err("begin -1, end 6, length 6".into())
        );
        assert_eq!(
            replace(7, 1, text()),
            Err("dx_replace startIndex(7) out of range(6)".into())
        );
        assert_eq!(
            replace(-1, 1, text()),
            Err("begin 0, end -1, length 6".into())
        );
        assert_eq!(replace(0, 1, Column::Null), Ok(Column::Null));
        assert_eq!(
            replace(1, 2, Column::string("a😀b")),
            Ok(Column::string("aXb"))
        );
        assert_eq!(
            replace(1, 1, Column::string("中文字")),
            Ok(Column::string("中X字"))
        );
    }
}
