//! DECIMAL values travel as text (odps-tunnel.md §5.2), possibly with an exponent; DataX
//! holds them as Java's `toPlainString` writes them.

/// Decimal text without an exponent (`1.5E+3` → `1500`), as Java's `toPlainString`; `None`
/// for text that is not a finite decimal number.
pub fn plain_decimal(text: &str) -> Option<std::borrow::Cow<'_, str>> {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (negative, digits) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (integer, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if integer.is_empty() && fraction.is_empty()
        || !all_digits(integer)
        || !all_digits(fraction)
        || exponent.unsigned_abs() > 10_000
    {
        return None;
    }
    if exponent == 0 && !text.starts_with('+') && !integer.is_empty() {
        return Some(std::borrow::Cow::Borrowed(text));
    }
    // Shift the decimal point by the exponent over the digit string.
    let all: String = format!("{integer}{fraction}");
    let point = integer.len() as i64 + i64::from(exponent);
    let mut plain = String::new();
    if negative {
        plain.push('-');
    }
    if point <= 0 {
        plain.push_str("0.");
        plain.extend(std::iter::repeat_n('0', (-point) as usize));
        plain.push_str(&all);
    } else if point as usize >= all.len() {
        plain.push_str(&all);
        plain.extend(std::iter::repeat_n('0', point as usize - all.len()));
    } else {
        plain.push_str(&all[..point as usize]);
        plain.push('.');
        plain.push_str(&all[point as usize..]);
    }
    // Leading zeros of the integer part, but keep one before the point.
    let sign = usize::from(negative);
    let trimmed_start = plain[sign..]
        .find(|c: char| c != '0')
        .map_or(plain.len(), |at| at + sign);
    let keep_from = if plain[trimmed_start..].starts_with('.') || trimmed_start == plain.len() {
        trimmed_start.saturating_sub(1).max(sign)
    } else {
        trimmed_start
    };
    plain.replace_range(sign..keep_from, "");
    Some(std::borrow::Cow::Owned(plain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_become_plain_text() {
        let plain = |text: &str| plain_decimal(text).map(|p| p.into_owned());
        assert_eq!(plain("-12.3400").as_deref(), Some("-12.3400"));
        assert_eq!(plain("1.5E+3").as_deref(), Some("1500"));
        assert_eq!(plain("1.5e-3").as_deref(), Some("0.0015"));
        assert_eq!(plain("-2E2").as_deref(), Some("-200"));
        assert_eq!(plain(".5").as_deref(), Some("0.5"));
        assert_eq!(plain("inf"), None);
        assert_eq!(plain("NaN"), None);
        assert_eq!(plain(""), None);
    }
}
