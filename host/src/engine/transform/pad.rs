//! `dx_pad`: `paras: [l|r, length, padString]`. A null pads as `""`; a text at least `length`
//! long is cut to `length` (from the left, whatever the side); a shorter one gets the pad
//! string repeated on the left (`l`) or right (`r`), its last copy cut to fit. Lengths in
//! UTF-16 units. `l`/`r` in any case, as DataX.

use datax_plugin_api::Column;

use super::params::{int_para, Parameter};
use super::utf16::JavaText;
use super::{column_text, Transform, Verdict};

pub struct Pad {
    left: bool,
    length: i32,
    pad: String,
}

impl Pad {
    pub fn new(parameter: &Parameter) -> Result<Self, String> {
        let paras = parameter.expect(&["l or r", "length", "padString"])?;
        let left = match paras[0].to_ascii_lowercase().as_str() {
            "l" => true,
            "r" => false,
            _ => return Err(format!("paras[0] must be l or r, found {:?}", paras[0])),
        };
        let length = int_para(paras, 1, "length")?;
        if length < 0 {
            return Err(format!(
                "paras[1] (length) must not be negative, found {length}: DataX fails every \
                 record on it"
            ));
        }
        if paras[2].is_empty() {
            // DataX loops forever on an empty pad string.
            return Err("paras[2] (padString) must not be empty".to_string());
        }
        Ok(Pad {
            left,
            length,
            pad: paras[2].clone(),
        })
    }

    fn padding(&self, mut needed: i32) -> Result<String, String> {
        let pad = JavaText::new(&self.pad);
        let mut padding = String::new();
        while needed > 0 {
            if needed >= pad.len() {
                padding.push_str(&self.pad);
                needed -= pad.len();
            } else {
                padding.push_str(&pad.substring(0, needed)?);
                needed = 0;
            }
        }
        Ok(padding)
    }
}

impl Transform for Pad {
    fn apply(&self, column: &mut Column) -> Result<Verdict, String> {
        let text = column_text(column)?.unwrap_or_default();
        let java = JavaText::new(&text);
        let result = if self.length <= java.len() {
            java.substring(0, self.length)?.into_owned()
        } else {
            let padding = self.padding(self.length - java.len())?;
            if self.left {
                padding + text.as_ref()
            } else {
                text.into_owned() + padding.as_str()
            }
        };
        *column = Column::string(result);
        Ok(Verdict::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pad(side: &str, length: &str, with: &str, column: Column) -> Result<Column, String> {
        let parameter = Parameter {
            column_index: 0,
            paras: vec![side.into(), length.into(), with.into()],
        };
        let mut column = column;
        Pad::new(&parameter)?.apply(&mut column)?;
        Ok(column)
    }

    #[test]
    fn as_datax() {
        let text = || Column::string("abc");
        assert_eq!(pad("l", "6", "xy", text()), Ok(Column::string("xyxabc")));
        assert_eq!(pad("R", "6", "xy", text()), Ok(Column::string("abcxyx")));
        assert_eq!(pad("l", "2", "xy", text()), Ok(Column::string("ab")));
        assert_eq!(pad("r", "2", "xy", text()), Ok(Column::string("ab")));
        assert_eq!(pad("l", "0", "xy", text()), Ok(Column::string("")));
        assert_eq!(pad("l", "3", "0", Column::Null), Ok(Column::string("000")));
        assert_eq!(
            pad("l", "5", "0", Column::Long(42)),
            Ok(Column::string("00042"))
        );
        assert_eq!(
            pad("r", "4", "😀", Column::string("中")),
            Ok(Column::string("中😀\u{FFFD}"))
        );
        assert_eq!(
            pad("l", "2", "-", Column::string("a😀")),
            Ok(Column::string("a\u{FFFD}"))
        );
    }

    #[test]
    fn bad_paras_are_refused() {
        let refused = |side: &str, length: &str, with: &str| {
            pad(side, length, with, Column::Null).unwrap_err()
        };
        assert_eq!(
            refused("x", "3", "0"),
            "paras[0] must be l or r, found \"x\""
        );
        assert!(refused("l", "3a", "0").starts_with("paras[1] (length) must be an integer"));
        assert!(refused("l", "-1", "0").contains("must not be negative"));
        assert!(refused("l", "3", "").contains("must not be empty"));
    }
}
