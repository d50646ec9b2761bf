//! A PromQL reader for the subset alert rules use: enough to refuse what Prometheus would refuse
//! there (a dangling operator, an unclosed brace, an unknown function, a range without a unit) and to
//! list the series an expression selects. Operator precedence is not modelled: it changes what an
//! expression means, not whether it parses.

#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    /// `=`, `!=`, `=~`, `!~`
    pub op: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct Selector {
    pub name: Option<String>,
    pub matchers: Vec<Matcher>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Number,
    Str(String),
    Duration,
    Punct(&'static str),
}

const PUNCT: [&str; 21] = ["==", "!=", "=~", "!~", ">=", "<=", ">", "<", "=", "+", "-", "*", "/", "%", "^", "(", ")", "{", "}", "[", "]"];
const BINARY: [&str; 12] = ["==", "!=", ">=", "<=", ">", "<", "+", "-", "*", "/", "%", "^"];
const SET_OPS: [&str; 3] = ["and", "or", "unless"];
const AGGREGATIONS: [&str; 12] = ["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile"];
const FUNCTIONS: [&str; 52] = [
    "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "count_over_time",
    "day_of_month", "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp", "floor", "histogram_quantile",
    "holt_winters", "hour", "idelta", "increase", "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
    "max_over_time", "min_over_time", "minute", "month", "predict_linear", "present_over_time", "quantile_over_time", "rate",
    "resets", "round", "scalar", "sgn", "sort", "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time",
    "time", "timestamp", "vector", "year",
];

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == ',' {
            out.push(Tok::Punct(","));
            i += 1;
        } else if c == ':' {
            out.push(Tok::Punct(":"));
            i += 1;
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit() || *d == '+' || *d == '-') {
                i += 2;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                out.push(Tok::Number);
            } else if i < chars.len() && chars[i].is_ascii_alphabetic() {
                // A duration: (digits unit)+, units ms s m h d w y.
                i = start;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                    let unit = ["ms", "s", "m", "h", "d", "w", "y"].into_iter().find(|u| chars[i..].iter().take(u.len()).copied().eq(u.chars()));
                    let Some(unit) = unit else { return Err(format!("bad duration at {start}")) };
                    i += unit.len();
                }
                if i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    return Err(format!("bad duration at {start}"));
                }
                out.push(Tok::Duration);
            } else {
                out.push(Tok::Number);
            }
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push(if matches!(word.to_ascii_lowercase().as_str(), "inf" | "nan") { Tok::Number } else { Tok::Ident(word) });
        } else if c == '"' || c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("unterminated string".into()),
                    Some('\\') => {
                        s.extend(chars.get(i + 1));
                        i += 2;
                    }
                    Some(q) if *q == c => {
                        i += 1;
                        break;
                    }
                    Some(other) => {
                        s.push(*other);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(s));
        } else {
            let rest: String = chars[i..].iter().take(2).collect();
            let p = PUNCT.into_iter().find(|p| rest.starts_with(p)).ok_or_else(|| format!("unexpected {c:?} at {i}"))?;
            out.push(Tok::Punct(p));
            i += p.len();
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    found: Vec<Selector>,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn eat(&mut self, p: &str) -> bool {
        if self.peek() == Some(&Tok::Punct(static_punct(p))) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, p: &str) -> Result<(), String> {
        if self.eat(p) { Ok(()) } else { Err(format!("expected {p:?}, found {:?}", self.peek())) }
    }
    fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(x)) if x == w) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Result<(), String> {
        self.unary()?;
        loop {
            let binary = match self.peek() {
                Some(Tok::Punct(p)) => BINARY.contains(p),
                Some(Tok::Ident(w)) => SET_OPS.contains(&w.as_str()),
                _ => false,
            };
            if !binary {
                return Ok(());
            }
            self.at += 1;
            self.eat_word("bool");
            if self.eat_word("on") || self.eat_word("ignoring") {
                self.labels()?;
                if (self.eat_word("group_left") || self.eat_word("group_right")) && self.peek() == Some(&Tok::Punct("(")) {
                    self.labels()?;
                }
            }
            self.unary()?;
        }
    }

    fn unary(&mut self) -> Result<(), String> {
        while self.eat("-") || self.eat("+") {}
        self.primary()?;
        if self.eat("[") {
            self.duration()?;
            if self.eat(":") && self.peek() == Some(&Tok::Duration) {
                self.duration()?;
            }
            self.expect("]")?;
        }
        if self.eat_word("offset") {
            self.eat("-");
            self.duration()?;
        }
        Ok(())
    }

    fn duration(&mut self) -> Result<(), String> {
        match self.next() {
            Some(Tok::Duration) => Ok(()),
            other => Err(format!("expected a duration, found {other:?}")),
        }
    }

    fn primary(&mut self) -> Result<(), String> {
        match self.next() {
            Some(Tok::Number) | Some(Tok::Str(_)) => Ok(()),
            Some(Tok::Punct("(")) => {
                self.expr()?;
                self.expect(")")
            }
            Some(Tok::Punct("{")) => {
                self.at -= 1;
                let matchers = self.matchers()?;
                self.found.push(Selector { name: None, matchers });
                Ok(())
            }
            Some(Tok::Ident(word)) if AGGREGATIONS.contains(&word.as_str()) => {
                if self.eat_word("by") || self.eat_word("without") {
                    self.labels()?;
                }
                self.args()?;
                if self.eat_word("by") || self.eat_word("without") {
                    self.labels()?;
                }
                Ok(())
            }
            Some(Tok::Ident(word)) if self.peek() == Some(&Tok::Punct("(")) => {
                if !FUNCTIONS.contains(&word.as_str()) {
                    return Err(format!("unknown function {word}"));
                }
                self.args()
            }
            Some(Tok::Ident(word)) if ["by", "without", "on", "ignoring", "bool", "offset"].contains(&word.as_str()) || SET_OPS.contains(&word.as_str()) => {
                Err(format!("unexpected keyword {word}"))
            }
            Some(Tok::Ident(name)) => {
                let matchers = if self.peek() == Some(&Tok::Punct("{")) { self.matchers()? } else { Vec::new() };
                self.found.push(Selector { name: Some(name), matchers });
                Ok(())
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }

    fn args(&mut self) -> Result<(), String> {
        self.expect("(")?;
        if self.eat(")") {
            return Ok(());
        }
        loop {
            self.expr()?;
            if self.eat(")") {
                return Ok(());
            }
            self.expect(",")?;
        }
    }

    fn labels(&mut self) -> Result<(), String> {
        self.expect("(")?;
        loop {
            match self.next() {
                Some(Tok::Punct(")")) => return Ok(()),
                Some(Tok::Ident(_)) => {
                    if !self.eat(",") {
                        return self.expect(")");
                    }
                }
                other => return Err(format!("expected a label name, found {other:?}")),
            }
        }
    }

    fn matchers(&mut self) -> Result<Vec<Matcher>, String> {
        self.expect("{")?;
        let mut out = Vec::new();
        loop {
            match self.next() {
                Some(Tok::Punct("}")) => return Ok(out),
                Some(Tok::Ident(name)) => {
                    let op = match self.next() {
                        Some(Tok::Punct(p)) if ["=", "!=", "=~", "!~"].contains(&p) => p.to_string(),
                        other => return Err(format!("expected a match operator after {name}, found {other:?}")),
                    };
                    let Some(Tok::Str(value)) = self.next() else { return Err(format!("expected a string after {name}{op}")) };
                    out.push(Matcher { name, op, value });
                    if !self.eat(",") {
                        self.expect("}")?;
                        return Ok(out);
                    }
                }
                other => return Err(format!("expected a label matcher, found {other:?}")),
            }
        }
    }
}

/// The `&'static str` of a punctuation token (tokens hold the table's own strings).
fn static_punct(p: &str) -> &'static str {
    PUNCT.into_iter().chain([",", ":"]).find(|x| *x == p).unwrap_or("")
}

/// The series an expression selects, or why it is not PromQL.
pub fn selectors(expr: &str) -> Result<Vec<Selector>, String> {
    let mut p = Parser { toks: lex(expr)?, at: 0, found: Vec::new() };
    p.expr()?;
    if p.at < p.toks.len() {
        return Err(format!("unexpected {:?} after the expression", p.toks[p.at]));
    }
    Ok(p.found)
}
