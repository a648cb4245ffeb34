//! Partition patterns as DataX reads them (datax-engine.md §7.2, datax-semantics.md §9.7):
//! normalised specs, every level named, `*` any run of characters, the rest of the pattern
//! a regular expression matched against the whole spec; or `/*query*/` conditions.

use std::collections::HashSet;

use crate::query::Condition;

/// `pt = '1' / ds='hz'` → `pt=1,ds=hz`: trimmed, no spaces around `=` and `,`, `/` as `,`,
/// no quotes.
pub fn normalise(spec: &str) -> String {
    spec.replace('\'', "")
        .split(['/', ','])
        .map(|level| {
            let level = level.trim();
            match level.split_once('=') {
                Some((key, value)) => format!("{}={}", key.trim(), value.trim()),
                None => level.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A spec string from `(key, value)` pairs.
pub fn spec_text(levels: &[(String, String)]) -> String {
    levels
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The value of each partition key in a spec, in key order; `None` when a key is missing.
pub fn values_by_key(spec: &str, keys: &[&str]) -> Option<Vec<String>> {
    let levels: Vec<(&str, &str)> = spec
        .split(',')
        .filter_map(|level| level.split_once('='))
        .collect();
    keys.iter()
        .map(|key| {
            levels
                .iter()
                .find(|(name, _)| name.trim().eq_ignore_ascii_case(key))
                .map(|(_, value)| value.trim().to_string())
        })
        .collect()
}

/// The table's partitions matched by the patterns (or selected by `/*query*/` conditions):
/// their ordered union without duplicates. Patterns that match nothing are returned too, for
/// the caller to report.
pub fn expand<'a>(
    patterns: &'a [String],
    keys: &[&str],
    partitions: &[String],
) -> Result<(Vec<String>, Vec<&'a str>), String> {
    let mut matched: Vec<String> = Vec::new();
    // What `matched` holds, for a look-up that stays flat over tens of thousands of partitions.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut unmatched = Vec::new();
    for (index, pattern) in patterns.iter().enumerate() {
        let selector = Selector::compile(pattern, keys)
            .map_err(|reason| format!("partition[{index}]: \"{pattern}\": {reason}"))?;
        let mut any = false;
        for partition in partitions {
            if selector.selects(partition, keys) {
                any = true;
                if seen.insert(partition) {
                    matched.push(partition.clone());
                }
            }
        }
        if !any {
            unmatched.push(pattern.as_str());
        }
    }
    Ok((matched, unmatched))
}

/// One entry of `partition`: a pattern, or a condition after `/*query*/`.
enum Selector {
    Pattern(Pattern),
    Query(Condition),
}

const QUERY_HINT: &str = "/*query*/";

impl Selector {
    fn compile(entry: &str, keys: &[&str]) -> Result<Selector, String> {
        let trimmed = entry.trim();
        if trimmed
            .get(..QUERY_HINT.len())
            .is_some_and(|hint| hint.eq_ignore_ascii_case(QUERY_HINT))
        {
            return Condition::parse(&trimmed[QUERY_HINT.len()..], keys).map(Selector::Query);
        }
        let normalised = normalise(entry);
        let levels = normalised.split(',').count();
        if levels != keys.len() {
            let suggestion = keys
                .iter()
                .map(|key| match values_by_key(&normalised, &[key]) {
                    Some(values) => format!("{key}={}", values[0]),
                    None => format!("{key}=*"),
                })
                .collect::<Vec<_>>()
                .join(",");
            return Err(format!(
                "names {levels} partition level(s) but the table has {} ({}); name every \
                 level, e.g. \"{suggestion}\"",
                keys.len(),
                keys.join(", ")
            ));
        }
        Pattern::compile(&normalised).map(Selector::Pattern)
    }

    fn selects(&self, partition: &str, keys: &[&str]) -> bool {
        match self {
            Selector::Pattern(pattern) => pattern.matches(partition),
            Selector::Query(condition) => {
                let values = values_by_key(partition, keys).unwrap_or_default();
                let pairs: Vec<(String, String)> =
                    keys.iter().map(|key| key.to_string()).zip(values).collect();
                condition.selects(&pairs)
            }
        }
    }
}

/// A compiled pattern: alternatives of atom sequences (DataX compiles patterns as Java
/// regexes after turning `*` into `.*`; this supports the syntax partition values need:
/// literals, `.`, `[...]` classes, `?` and `+` quantifiers, `|` and `\` escapes).
#[derive(Debug)]
pub struct Pattern {
    alternatives: Vec<Vec<Piece>>,
}

#[derive(Debug, Clone)]
enum Atom {
    Literal(char),
    Any,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Repeat {
    One,
    Optional,
    OneOrMore,
    AnyRun,
}

#[derive(Debug, Clone)]
struct Piece {
    atom: Atom,
    repeat: Repeat,
}

impl Atom {
    fn matches(&self, c: char) -> bool {
        match self {
            Atom::Literal(literal) => *literal == c,
            Atom::Any => true,
            Atom::Class { negated, ranges } => {
                ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
            }
        }
    }
}

impl Pattern {
    pub fn compile(pattern: &str) -> Result<Pattern, String> {
        // DataX: `.*` → `*`, then `*` → `.*`.
        let pattern = pattern.replace(".*", "*");
        let mut alternatives = vec![Vec::new()];
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            let current = alternatives.last_mut().expect("one alternative at least");
            let atom = match c {
                '|' => {
                    alternatives.push(Vec::new());
                    continue;
                }
                '*' => {
                    current.push(Piece {
                        atom: Atom::Any,
                        repeat: Repeat::AnyRun,
                    });
                    continue;
                }
                '?' | '+' => {
                    let last = current
                        .last_mut()
                        .filter(|piece| piece.repeat == Repeat::One)
                        .ok_or_else(|| format!("'{c}' has nothing to repeat"))?;
                    last.repeat = if c == '?' {
                        Repeat::Optional
                    } else {
                        Repeat::OneOrMore
                    };
                    continue;
                }
                '.' => Atom::Any,
                '\\' => Atom::Literal(chars.next().ok_or("a trailing '\\' escapes nothing")?),
                '[' => class(&mut chars)?,
                '(' | ')' | '{' | '}' | '^' | '$' => {
                    return Err(format!(
                        "'{c}' is not supported in partition patterns (use *, ?, ., [..] or |)"
                    ))
                }
                literal => Atom::Literal(literal),
            };
            current.push(Piece {
                atom,
                repeat: Repeat::One,
            });
        }
        Ok(Pattern { alternatives })
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        self.alternatives
            .iter()
            .any(|pieces| match_here(pieces, &chars))
    }
}

/// A `[...]` class, after its `[`: ranges `a-z`, single characters, `\` escapes, a leading
/// `^` negates; a `-` first or last is literal.
fn class(chars: &mut std::iter::Peekable<std::str::Chars>) -> Result<Atom, String> {
    let negated = chars.next_if_eq(&'^').is_some();
    let mut ranges = Vec::new();
    loop {
        let low = match chars.next() {
            None => return Err("'[' is not closed".to_string()),
            Some(']') if !ranges.is_empty() => break,
            Some('\\') => chars.next().ok_or("'[' is not closed")?,
            Some(low) => low,
        };
        let high = if chars.peek() == Some(&'-') {
            chars.next();
            match chars.next() {
                Some(']') | None => {
                    ranges.push((low, low));
                    ranges.push(('-', '-'));
                    break;
                }
                Some(high) => high,
            }
        } else {
            low
        };
        ranges.push((low, high));
    }
    Ok(Atom::Class { negated, ranges })
}

/// Backtracking match of `pieces` against all of `text`; partition specs are short.
fn match_here(pieces: &[Piece], text: &[char]) -> bool {
    let Some((piece, rest)) = pieces.split_first() else {
        return text.is_empty();
    };
    let (min, max) = match piece.repeat {
        Repeat::One => (1, 1),
        Repeat::Optional => (0, 1),
        Repeat::OneOrMore => (1, usize::MAX),
        Repeat::AnyRun => (0, usize::MAX),
    };
    let mut taken = 0;
    while taken < min {
        match text.get(taken) {
            Some(c) if piece.atom.matches(*c) => taken += 1,
            _ => return false,
        }
    }
    loop {
        if match_here(rest, &text[taken..]) {
            return true;
        }
        if taken >= max {
            return false;
        }
        match text.get(taken) {
            Some(c) if piece.atom.matches(*c) => taken += 1,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Pattern::compile(&normalise(pattern)).unwrap().matches(text)
    }

    #[test]
    fn normalises_like_datax() {
        assert_eq!(normalise(" pt = '1' , ds='hangzhou' "), "pt=1,ds=hangzhou");
        assert_eq!(normalise("pt=1 / ds=hangzhou"), "pt=1,ds=hangzhou");
    }

    #[test]
    fn datax_pattern_semantics() {
        assert!(matches("pt=2016*", "pt=20161226"));
        assert!(matches("pt=*", "pt=20161226"));
        assert!(!matches("pt=2016*", "pt=20171226"));
        assert!(matches("pt=.*", "pt=x"));
        // `?` makes the previous character optional, as DataWorks documents.
        assert!(matches("pt=top?", "pt=to"));
        assert!(matches("pt=top?", "pt=top"));
        assert!(!matches("pt=top?", "pt=tops"));
        assert!(matches("pt=2016122[5-6]", "pt=20161226"));
        assert!(!matches("pt=2016122[5-6]", "pt=20161227"));
        assert!(matches("pt=1|pt=2", "pt=2"));
        assert!(matches("pt=1,ds=*", "pt=1,ds=hz"));
        assert!(!matches("pt=1", "pt=10"));
        assert!(Pattern::compile("pt=(1)").is_err());
    }

    #[test]
    fn expands_in_order_without_duplicates() {
        let partitions: Vec<String> = ["pt=1,ds=a", "pt=1,ds=b", "pt=2,ds=a"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let patterns = vec![
            "pt=2,ds=*".to_string(),
            "pt=*,ds=a".to_string(),
            "pt=9,ds=x".to_string(),
        ];
        let (matched, unmatched) = expand(&patterns, &["pt", "ds"], &partitions).unwrap();
        assert_eq!(matched, vec!["pt=2,ds=a", "pt=1,ds=a"]);
        assert_eq!(unmatched, vec!["pt=9,ds=x"]);

        let error = expand(&["pt=1".to_string()], &["pt", "ds"], &partitions).unwrap_err();
        assert_eq!(
            error,
            "partition[0]: \"pt=1\": names 1 partition level(s) but the table has 2 (pt, ds); \
             name every level, e.g. \"pt=1,ds=*\""
        );

        let query = vec![
            "/*QUERY*/ pt >= 2 or ds = 'b'".to_string(),
            "pt=1,ds=a".to_string(),
        ];
        let (matched, unmatched) = expand(&query, &["pt", "ds"], &partitions).unwrap();
        assert_eq!(matched, vec!["pt=1,ds=b", "pt=2,ds=a", "pt=1,ds=a"]);
        assert!(unmatched.is_empty());
    }
}
