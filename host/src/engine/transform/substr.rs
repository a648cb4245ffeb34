//! `dx_substr`: `paras: [startIndex, length]`, positions in UTF-16 units. A null stays null;
//! a start past the end fails the record; a length reaching past the end takes the rest; a
//! negative start or a negative length fails the record (Java's `substring` throws).

use datax_plugin_api::Column;

use super::params::{int_para, Parameter};
use super::utf16::JavaText;
use super::{column_text, Transform, Verdict};

pub struct Substr {
    start: i32,
    length: i32,
}

impl Substr {
    pub fn new(parameter: &Parameter) -> Result<Self, String> {
        let paras = parameter.expect(&["startIndex", "length"])?;
        Ok(Substr {
            start: int_para(paras, 0, "startIndex")?,
            length: int_para(paras, 1, "length")?,
        })
    }
}

impl Transform for Substr {
    fn apply(&self, column: &mut Column) -> Result<Verdict, String> {
        let Some(text) = column_text(column)? else {
            return Ok(Verdict::Keep);
        };
        let text = JavaText::new(&text);
        let len = text.len();
        if self.start > len {
            return Err(format!(
                "dx_substr startIndex({}) out of range({len})",
                self.start
            ));
        }
        // Java's `int` sum, overflow included.
        let end = self.start.wrapping_add(self.length);
        let result = if end >= len {
            text.substring(self.start, len)?
        } else {
            text.substring(self.start, end)?
        };
        *column = Column::string(result);
        Ok(Verdict::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn substr(start: i32, length: i32, column: Column) -> Result<Column, String> {
        let mut column = column;
        Substr { start, length }.apply(&mut column)?;
        Ok(column)
    }

    #[test]
    fn as_datax() {
        let text = || Column::string("abcdef");
        assert_eq!(substr(1, 3, text()), Ok(Column::string("bcd")));
        assert_eq!(substr(2, 100, text()), Ok(Column::string("cdef")));
        assert_eq!(substr(6, 1, text()), Ok(Column::string("")));
        assert_eq!(
            substr(7, 1, text()),
            Err("dx_substr startIndex(7) out of range(6)".into())
        );
        assert_eq!(
            substr(1, -1, text()),
            Err("begin 1, end 0, length 6".into())
        );
        assert_eq!(
            substr(-1, 2, text()),
            Err("begin -1, end 1, length 6".into())
        );
        assert_eq!(
            substr(1, i32::MAX, text()),
            Err(format!("begin 1, end {}, length 6", i32::MIN)),
            "Java's int overflow"
        );
        assert_eq!(substr(0, 2, Column::Null), Ok(Column::Null));
        assert_eq!(substr(1, 2, Column::Long(12345)), Ok(Column::string("23")));
        assert_eq!(
            substr(1, 2, Column::string("a😀b")),
            Ok(Column::string("😀"))
        );
        assert_eq!(
            substr(0, 2, Column::string("中文字")),
            Ok(Column::string("中文"))
        );
    }
}
