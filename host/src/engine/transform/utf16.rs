//! Java's `String` arithmetic on Rust text: lengths and `substring` in UTF-16 code units, as
//! DataX counts positions. ASCII text (one unit a byte) takes a fast path.
//!
//! A cut inside a surrogate pair leaves half a character, which Java keeps and then writes as
//! `?`; here it becomes U+FFFD.

use std::borrow::Cow;

/// A text seen as Java sees it.
pub enum JavaText<'a> {
    Ascii(&'a str),
    Units(Vec<u16>),
}

impl<'a> JavaText<'a> {
    pub fn new(text: &'a str) -> Self {
        if text.is_ascii() {
            JavaText::Ascii(text)
        } else {
            JavaText::Units(text.encode_utf16().collect())
        }
    }

    /// `String.length()`.
    pub fn len(&self) -> i32 {
        let len = match self {
            JavaText::Ascii(text) => text.len(),
            JavaText::Units(units) => units.len(),
        };
        i32::try_from(len).unwrap_or(i32::MAX)
    }

    /// `String.substring(begin, end)`, with Java's exception message when out of range.
    pub fn substring(&self, begin: i32, end: i32) -> Result<Cow<'a, str>, String> {
        let len = self.len();
        if begin < 0 || end > len || begin > end {
            return Err(format!("begin {begin}, end {end}, length {len}"));
        }
        let (begin, end) = (begin as usize, end as usize);
        Ok(match self {
            JavaText::Ascii(text) => Cow::Borrowed(&text[begin..end]),
            JavaText::Units(units) => Cow::Owned(String::from_utf16_lossy(&units[begin..end])),
        })
    }
}

/// Java's `String.compareTo`: UTF-16 code units in order, so a character beyond the BMP sorts
/// before U+E000..U+FFFF (Rust's `str` order puts it after).
pub fn compare(left: &str, right: &str) -> std::cmp::Ordering {
    if left.is_ascii() && right.is_ascii() {
        return left.cmp(right);
    }
    left.encode_utf16().cmp(right.encode_utf16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_utf16_units() {
        let text = JavaText::new("a中😀b");
        assert_eq!(text.len(), 5, "the emoji is two units");
        assert_eq!(text.substring(1, 4).unwrap(), "中😀");
        assert_eq!(text.substring(4, 5).unwrap(), "b");
        assert_eq!(
            text.substring(2, 3).unwrap(),
            "\u{FFFD}",
            "half a surrogate pair"
        );
        assert_eq!(
            text.substring(2, 6).unwrap_err(),
            "begin 2, end 6, length 5"
        );
        assert_eq!(
            JavaText::new("abc").substring(-1, 2).unwrap_err(),
            "begin -1, end 2, length 3"
        );
    }

    #[test]
    fn comparison_follows_utf16_order() {
        use std::cmp::Ordering::*;
        assert_eq!(compare("😀", "\u{FF01}"), Less);
        assert!("😀" > "\u{FF01}", "where Rust's order differs");
        assert_eq!(compare("abc", "abd"), Less);
        assert_eq!(compare("b", "abc"), Greater);
    }
}
