//! `dx_digest`: `paras: [md5|sha1, toUpperCase|toLowerCase]`: the hex digest of the column's
//! UTF-8 text (a null digests as `""`).
//!
//! DataX validates both names ignoring case but then compares them case-sensitively, so its
//! `"MD5"` computes SHA-1 and its `"ToUpperCase"` gives lower case. We follow what the job
//! asks for instead: a hash that silently differs from its name corrupts data no one can
//! check. A spelling on which DataX behaves differently is warned about at start, naming
//! what DataX would have produced, for teams comparing outputs.

use datax_plugin_api::Column;
use md5::Md5;
use sha1::{Digest as _, Sha1};

use super::params::Parameter;
use super::{column_text, Transform, Verdict};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Algorithm {
    Md5,
    Sha1,
}

pub struct Digest {
    algorithm: Algorithm,
    upper_case: bool,
    datax_difference: Option<String>,
}

impl Digest {
    pub fn new(parameter: &Parameter) -> Result<Self, String> {
        let paras = parameter.expect(&["md5 or sha1", "toUpperCase or toLowerCase"])?;
        let (algorithm, case) = (&paras[0], &paras[1]);
        let algorithm = match algorithm.to_ascii_lowercase().as_str() {
            "md5" => Algorithm::Md5,
            "sha1" => Algorithm::Sha1,
            _ => return Err(format!("paras[0] must be md5 or sha1, found {algorithm:?}")),
        };
        let upper_case = match case.to_ascii_lowercase().as_str() {
            "touppercase" => true,
            "tolowercase" => false,
            _ => {
                return Err(format!(
                    "paras[1] must be toUpperCase or toLowerCase, found {case:?}"
                ))
            }
        };
        Ok(Digest {
            algorithm,
            upper_case,
            datax_difference: datax_difference(&paras[0], &paras[1]),
        })
    }
}

/// What DataX would compute differently for these exact spellings.
fn datax_difference(algorithm: &str, case: &str) -> Option<String> {
    let mut notes = Vec::new();
    if algorithm != "md5" && algorithm.eq_ignore_ascii_case("md5") {
        notes.push(format!(
            "DataX computes SHA-1 for {algorithm:?}; this computes MD5"
        ));
    }
    if case != "toUpperCase" && case.eq_ignore_ascii_case("toUpperCase") {
        notes.push(format!(
            "DataX writes lower case for {case:?}; this writes upper case"
        ));
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}

impl Transform for Digest {
    fn warning(&self) -> Option<&str> {
        self.datax_difference.as_deref()
    }

    fn apply(&self, column: &mut Column) -> Result<Verdict, String> {
        let text = column_text(column)?.unwrap_or_default();
        let hex = match self.algorithm {
            Algorithm::Md5 => hex(&Md5::digest(text.as_bytes()), self.upper_case),
            Algorithm::Sha1 => hex(&Sha1::digest(text.as_bytes()), self.upper_case),
        };
        *column = Column::string(hex);
        Ok(Verdict::Keep)
    }
}

pub(super) fn hex(bytes: &[u8], upper_case: bool) -> String {
    let digits: &[u8; 16] = if upper_case {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(digits[usize::from(byte >> 4)] as char);
        text.push(digits[usize::from(byte & 0xf)] as char);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(algorithm: &str, case: &str, column: Column) -> Result<Column, String> {
        let parameter = Parameter {
            column_index: 0,
            paras: vec![algorithm.into(), case.into()],
        };
        let mut column = column;
        Digest::new(&parameter)?.apply(&mut column)?;
        Ok(column)
    }

    #[test]
    fn hex_digests_of_the_text() {
        let text = || Column::string("abc");
        assert_eq!(
            digest("md5", "toLowerCase", text()),
            Ok(Column::string("900150983cd24fb0d6963f7d28e17f72"))
        );
        assert_eq!(
            digest("sha1", "toUpperCase", text()),
            Ok(Column::string("A9993E364706816ABA3E25717850C26C9CD0D89D"))
        );
        assert_eq!(
            digest("md5", "toLowerCase", Column::Null),
            Ok(Column::string("d41d8cd98f00b204e9800998ecf8427e")),
            "null digests as the empty text"
        );
        assert_eq!(
            digest("MD5", "TOUPPERCASE", text()),
            Ok(Column::string("900150983CD24FB0D6963F7D28E17F72")),
            "what the job asks for, not DataX's SHA-1"
        );
    }

    #[test]
    fn datax_spellings_that_differ_are_named() {
        assert_eq!(datax_difference("md5", "toUpperCase"), None);
        assert_eq!(datax_difference("SHA1", "toLowerCase"), None);
        let note = datax_difference("Md5", "touppercase").unwrap();
        assert!(
            note.contains("SHA-1") && note.contains("lower case"),
            "{note}"
        );
    }

    #[test]
    fn bad_paras_are_refused() {
        assert!(digest("sha256", "toLowerCase", Column::Null)
            .unwrap_err()
            .contains("md5 or sha1"));
        assert!(digest("md5", "upper", Column::Null)
            .unwrap_err()
            .contains("toUpperCase"));
    }
}
