//! `/*query*/` partition conditions (datax-engine.md §7.2): DataX loads every partition into
//! an SQLite table with one TEXT column per partition key and keeps the rows a `WHERE`
//! condition selects. This evaluates the same conditions with SQLite's rules: a partition
//! key is text, so comparing it with a number compares text; `LIKE` ignores ASCII case.
//!
//! Supported: `AND`, `OR`, `NOT`, parentheses, `= == != <> < <= > >=`, `[NOT] IN (..)`,
//! `[NOT] LIKE`, `[NOT] BETWEEN .. AND ..`, `IS [NOT] NULL`, strings in `'..'`, numbers.

use std::cmp::Ordering;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition(Expr);

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Key(String),
    Text(String),
    Number(f64),
    Null,
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare(Box<Expr>, CompareOp, Box<Expr>),
    In(Box<Expr>, Vec<Expr>),
    Like(Box<Expr>, Box<Expr>),
    IsNull(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CompareOp {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Number(f64),
    Symbol(&'static str),
}

/// A value during evaluation; `from_key` marks TEXT affinity (SQLite compares such a value
/// with a number as text).
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Text { text: String, from_key: bool },
    Number(f64),
    Bool(bool),
}

impl Condition {
    /// `text` is the part after `/*query*/`; `keys` are the table's partition keys.
    pub fn parse(text: &str, keys: &[&str]) -> Result<Condition, String> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            tokens,
            position: 0,
            keys,
        };
        let expr = parser.or()?;
        match parser.tokens.get(parser.position) {
            None => Ok(Condition(expr)),
            Some(token) => Err(format!("unexpected {token:?} in the condition")),
        }
    }

    /// Whether the partition with these `(key, value)` pairs is selected.
    pub fn selects(&self, partition: &[(String, String)]) -> bool {
        truthy(&evaluate(&self.0, partition))
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' || c == '"' {
            tokens.push(quoted(&mut chars, c)?);
        } else if c.is_ascii_digit() || c == '.' {
            tokens.push(number(&mut chars)?);
        } else if c.is_alphanumeric() || c == '_' || c == '`' || c == '[' {
            tokens.push(word(&mut chars, c));
        } else {
            chars.next();
            tokens.push(Token::Symbol(symbol(&mut chars, c)?));
        }
    }
    Ok(tokens)
}

/// '..' is a string ('' escapes a quote); "..." quotes a partition key.
fn quoted(chars: &mut Chars, quote: char) -> Result<Token, String> {
    chars.next();
    let mut value = String::new();
    loop {
        match chars.next() {
            None => return Err(format!("unclosed {quote} in the condition")),
            Some(q) if q == quote && chars.peek() == Some(&quote) => {
                chars.next();
                value.push(quote);
            }
            Some(q) if q == quote => break,
            Some(other) => value.push(other),
        }
    }
    Ok(if quote == '"' {
        Token::Word(value)
    } else {
        Token::Text(value)
    })
}

fn number(chars: &mut Chars) -> Result<Token, String> {
    let mut number = String::new();
    while let Some(&d) = chars.peek() {
        if !(d.is_ascii_digit() || d == '.') {
            break;
        }
        number.push(d);
        chars.next();
    }
    number
        .parse()
        .map(Token::Number)
        .map_err(|_| format!("\"{number}\" is not a number"))
}

/// A name, bare or quoted with backticks or brackets.
fn word(chars: &mut Chars, first: char) -> Token {
    let quoted = matches!(first, '`' | '[');
    if quoted {
        chars.next();
    }
    let mut word = String::new();
    while let Some(&w) = chars.peek() {
        if quoted && (w == '`' || w == ']') {
            chars.next();
            break;
        }
        if !(quoted || w.is_alphanumeric() || w == '_') {
            break;
        }
        word.push(w);
        chars.next();
    }
    Token::Word(word)
}

/// An operator or punctuation starting with `c` (already taken).
fn symbol(chars: &mut Chars, c: char) -> Result<&'static str, String> {
    let next = chars.peek().copied();
    Ok(match (c, next) {
        ('=', Some('='))
        | ('!', Some('='))
        | ('<', Some('='))
        | ('>', Some('='))
        | ('<', Some('>')) => {
            chars.next();
            match (c, next) {
                ('=', _) => "=",
                ('!', _) | ('<', Some('>')) => "!=",
                ('<', _) => "<=",
                _ => ">=",
            }
        }
        ('=', _) => "=",
        ('<', _) => "<",
        ('>', _) => ">",
        ('(', _) => "(",
        (')', _) => ")",
        (',', _) => ",",
        _ => return Err(format!("'{c}' is not supported in a /*query*/ condition")),
    })
}

struct Parser<'a> {
    tokens: Vec<Token>,
    position: usize,
    keys: &'a [&'a str],
}

impl Parser<'_> {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.position), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let found = self.peek_word(word);
        if found {
            self.position += 1;
        }
        found
    }

    fn eat_symbol(&mut self, symbol: &str) -> bool {
        let found =
            matches!(self.tokens.get(self.position), Some(Token::Symbol(s)) if *s == symbol);
        if found {
            self.position += 1;
        }
        found
    }

    fn expect_symbol(&mut self, symbol: &str) -> Result<(), String> {
        if self.eat_symbol(symbol) {
            Ok(())
        } else {
            Err(format!("expected '{symbol}' in the condition"))
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.eat_word("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.not()?;
        while self.eat_word("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.eat_word("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, String> {
        let left = self.operand()?;
        let op = match self.tokens.get(self.position) {
            Some(Token::Symbol("=")) => Some(CompareOp::Equal),
            Some(Token::Symbol("!=")) => Some(CompareOp::NotEqual),
            Some(Token::Symbol("<")) => Some(CompareOp::Less),
            Some(Token::Symbol("<=")) => Some(CompareOp::LessOrEqual),
            Some(Token::Symbol(">")) => Some(CompareOp::Greater),
            Some(Token::Symbol(">=")) => Some(CompareOp::GreaterOrEqual),
            _ => None,
        };
        if let Some(op) = op {
            self.position += 1;
            let right = self.operand()?;
            return Ok(Expr::Compare(Box::new(left), op, Box::new(right)));
        }
        if self.eat_word("is") {
            let negated = self.eat_word("not");
            if !self.eat_word("null") {
                return Err("expected NULL after IS".to_string());
            }
            return Ok(negate_if(negated, Expr::IsNull(Box::new(left))));
        }
        let negated = self.eat_word("not");
        let test = if self.eat_word("in") {
            self.in_list(left)?
        } else if self.eat_word("like") {
            Expr::Like(Box::new(left), Box::new(self.operand()?))
        } else if self.eat_word("between") {
            self.between(left)?
        } else if negated {
            return Err("expected IN, LIKE or BETWEEN after NOT".to_string());
        } else {
            return Ok(left);
        };
        Ok(negate_if(negated, test))
    }

    /// `left IN (a, b, …)`, after the IN.
    fn in_list(&mut self, left: Expr) -> Result<Expr, String> {
        self.expect_symbol("(")?;
        let mut list = vec![self.operand()?];
        while self.eat_symbol(",") {
            list.push(self.operand()?);
        }
        self.expect_symbol(")")?;
        Ok(Expr::In(Box::new(left), list))
    }

    /// `left BETWEEN low AND high`, after the BETWEEN: `left >= low AND left <= high`.
    fn between(&mut self, left: Expr) -> Result<Expr, String> {
        let low = self.operand()?;
        if !self.eat_word("and") {
            return Err("expected AND in BETWEEN".to_string());
        }
        let high = self.operand()?;
        let compare = |left, op, right| Expr::Compare(Box::new(left), op, Box::new(right));
        Ok(Expr::And(
            Box::new(compare(left.clone(), CompareOp::GreaterOrEqual, low)),
            Box::new(compare(left, CompareOp::LessOrEqual, high)),
        ))
    }

    fn operand(&mut self) -> Result<Expr, String> {
        let token = self
            .tokens
            .get(self.position)
            .cloned()
            .ok_or("the condition ends too early")?;
        self.position += 1;
        match token {
            Token::Symbol("(") => {
                let inner = self.or()?;
                self.expect_symbol(")")?;
                Ok(inner)
            }
            Token::Text(text) => Ok(Expr::Text(text)),
            Token::Number(number) => Ok(Expr::Number(number)),
            Token::Word(word) if word.eq_ignore_ascii_case("null") => Ok(Expr::Null),
            Token::Word(word) => match self.keys.iter().find(|key| key.eq_ignore_ascii_case(&word))
            {
                Some(key) => Ok(Expr::Key(key.to_string())),
                None => Err(format!(
                    "\"{word}\" is not a partition key (the keys are {})",
                    self.keys.join(", ")
                )),
            },
            Token::Symbol(symbol) => Err(format!("unexpected '{symbol}' in the condition")),
        }
    }
}

fn negate_if(negated: bool, test: Expr) -> Expr {
    if negated {
        Expr::Not(Box::new(test))
    } else {
        test
    }
}

fn evaluate(expr: &Expr, partition: &[(String, String)]) -> Value {
    match expr {
        Expr::Key(key) => partition
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map_or(Value::Null, |(_, value)| Value::Text {
                text: value.clone(),
                from_key: true,
            }),
        Expr::Text(text) => Value::Text {
            text: text.clone(),
            from_key: false,
        },
        Expr::Number(number) => Value::Number(*number),
        Expr::Null => Value::Null,
        Expr::Not(inner) => match evaluate(inner, partition) {
            Value::Null => Value::Null,
            value => Value::Bool(!truthy(&value)),
        },
        Expr::And(left, right) => {
            Value::Bool(truthy(&evaluate(left, partition)) && truthy(&evaluate(right, partition)))
        }
        Expr::Or(left, right) => {
            Value::Bool(truthy(&evaluate(left, partition)) || truthy(&evaluate(right, partition)))
        }
        Expr::Compare(left, op, right) => {
            match compare(&evaluate(left, partition), &evaluate(right, partition)) {
                None => Value::Null,
                Some(ordering) => Value::Bool(match op {
                    CompareOp::Equal => ordering == Ordering::Equal,
                    CompareOp::NotEqual => ordering != Ordering::Equal,
                    CompareOp::Less => ordering == Ordering::Less,
                    CompareOp::LessOrEqual => ordering != Ordering::Greater,
                    CompareOp::Greater => ordering == Ordering::Greater,
                    CompareOp::GreaterOrEqual => ordering != Ordering::Less,
                }),
            }
        }
        Expr::In(left, list) => {
            let value = evaluate(left, partition);
            Value::Bool(
                list.iter().any(|item| {
                    compare(&value, &evaluate(item, partition)) == Some(Ordering::Equal)
                }),
            )
        }
        Expr::Like(left, pattern) => {
            match (evaluate(left, partition), evaluate(pattern, partition)) {
                (Value::Null, _) | (_, Value::Null) => Value::Null,
                (value, pattern) => Value::Bool(like(&as_text(&value), &as_text(&pattern))),
            }
        }
        Expr::IsNull(inner) => Value::Bool(evaluate(inner, partition) == Value::Null),
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => *n != 0.0,
        Value::Text { text, .. } => text.trim().parse::<f64>().is_ok_and(|n| n != 0.0),
    }
}

fn as_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
        Value::Number(n) => n.to_string(),
        Value::Text { text, .. } => text.clone(),
    }
}

/// SQLite's comparison: a key (TEXT affinity) against a number compares as text; numbers
/// sort before text otherwise.
fn compare(left: &Value, right: &Value) -> Option<Ordering> {
    use Value::*;
    match (left, right) {
        (Null, _) | (_, Null) => None,
        (Text { from_key: true, .. }, _) | (_, Text { from_key: true, .. }) => {
            Some(as_text(left).cmp(&as_text(right)))
        }
        (Text { text: a, .. }, Text { text: b, .. }) => Some(a.cmp(b)),
        (Text { .. }, _) => Some(Ordering::Greater),
        (_, Text { .. }) => Some(Ordering::Less),
        (a, b) => {
            let number = |v: &Value| match v {
                Number(n) => *n,
                Bool(b) => f64::from(u8::from(*b)),
                _ => 0.0,
            };
            number(a).partial_cmp(&number(b))
        }
    }
}

/// `%` any run, `_` one character, ASCII case ignored.
fn like(text: &str, pattern: &str) -> bool {
    fn matches(text: &[char], pattern: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('%', rest)) => (0..=text.len()).any(|skip| matches(&text[skip..], rest)),
            Some((p, rest)) => match text.split_first() {
                Some((t, text_rest)) if *p == '_' || t.eq_ignore_ascii_case(p) => {
                    matches(text_rest, rest)
                }
                _ => false,
            },
        }
    }
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    matches(&text, &pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(pt: &str, ds: &str) -> Vec<(String, String)> {
        vec![("pt".into(), pt.into()), ("ds".into(), ds.into())]
    }

    fn selects(condition: &str, pt: &str, ds: &str) -> bool {
        Condition::parse(condition, &["pt", "ds"])
            .unwrap()
            .selects(&partition(pt, ds))
    }

    #[test]
    fn datax_documented_condition() {
        let condition = " pt>=20170101 and pt<20170110";
        assert!(selects(condition, "20170101", "hz"));
        assert!(selects(condition, "20170109", "hz"));
        assert!(!selects(condition, "20170110", "hz"));
        assert!(!selects(condition, "20161231", "hz"));
    }

    #[test]
    fn sqlite_rules() {
        // Text comparison against a key: '9' > '10'.
        assert!(selects("pt > 10", "9", "hz"));
        assert!(selects("ds in ('hz', 'sh') and not pt = '1'", "2", "sh"));
        assert!(!selects("ds not in ('hz', 'sh')", "2", "sh"));
        assert!(selects("ds like 'H%'", "1", "hangzhou"));
        assert!(selects(
            "pt between '2016' and '2017' or ds = 'x'",
            "20161226",
            "hz"
        ));
        assert!(selects("(pt = '1' or pt = '2') and ds <> 'sh'", "2", "hz"));
        assert!(!selects("pt is null", "2", "hz"));
        assert!(selects("PT is not null", "2", "hz"));
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            Condition::parse("region = 'hz'", &["pt", "ds"]).unwrap_err(),
            "\"region\" is not a partition key (the keys are pt, ds)"
        );
        assert_eq!(
            Condition::parse("pt = 'a", &["pt"]).unwrap_err(),
            "unclosed ' in the condition"
        );
        assert_eq!(
            Condition::parse("pt ; drop", &["pt"]).unwrap_err(),
            "';' is not supported in a /*query*/ condition"
        );
        assert!(Condition::parse("pt = ", &["pt"]).is_err());
        assert!(Condition::parse("pt = 1 )", &["pt"]).is_err());
    }
}
