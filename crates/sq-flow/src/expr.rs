//! Conditions of `branch` arms and of `when:` on choices: `ahead > 5`, `lang == "ar"`,
//! `site_count > 1 and not has_ticket`.
//!
//! A deliberately small language (comparisons, `and`/`or`/`not`, parentheses, variables,
//! numbers, strings, booleans) parsed once at load time, so a typo is a load error with a
//! location and evaluation cannot fail. A missing variable compares unequal to everything
//! and is false on its own.

use std::cmp::Ordering;
use std::fmt;

use crate::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Var(String),
    Lit(Value),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(Box<Expr>, CmpOp, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Why an expression does not parse (with the character offset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.offset + 1)
    }
}

const MAX_DEPTH: usize = 16;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Int(i64),
    Str(String),
    Op(CmpOp),
    And,
    Or,
    Not,
    LParen,
    RParen,
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |offset: usize, m: &str| ExprError {
        offset,
        message: m.to_string(),
    };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            ' ' | '\t' => {
                i += 1;
                continue;
            }
            '(' => {
                out.push((start, Tok::LParen));
                i += 1;
            }
            ')' => {
                out.push((start, Tok::RParen));
                i += 1;
            }
            '=' | '!' | '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let (tok, len) = match (c, next) {
                    ('=', Some('=')) => (Tok::Op(CmpOp::Eq), 2),
                    ('!', Some('=')) => (Tok::Op(CmpOp::Ne), 2),
                    ('<', Some('=')) => (Tok::Op(CmpOp::Le), 2),
                    ('>', Some('=')) => (Tok::Op(CmpOp::Ge), 2),
                    ('<', _) => (Tok::Op(CmpOp::Lt), 1),
                    ('>', _) => (Tok::Op(CmpOp::Gt), 1),
                    ('!', _) => (Tok::Not, 1),
                    _ => return Err(err(start, "`=` is not an operator; use `==`")),
                };
                out.push((start, tok));
                i += len;
            }
            '&' | '|' => {
                if chars.get(i + 1) != Some(&c) {
                    return Err(err(start, &format!("expected `{c}{c}`")));
                }
                out.push((start, if c == '&' { Tok::And } else { Tok::Or }));
                i += 2;
            }
            '"' | '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(err(start, "unterminated string")),
                        Some(&q) if q == c => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push((start, Tok::Str(s)));
            }
            '-' | '0'..='9' => {
                let mut s = String::from(c);
                i += 1;
                while let Some(d) = chars.get(i).filter(|d| d.is_ascii_digit()) {
                    s.push(*d);
                    i += 1;
                }
                let n = s.parse::<i64>().map_err(|_| err(start, "invalid number"))?;
                out.push((start, Tok::Int(n)));
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == '$' => {
                let mut s = String::new();
                if c != '$' {
                    s.push(c);
                }
                i += 1;
                while let Some(d) = chars
                    .get(i)
                    .filter(|d| d.is_ascii_alphanumeric() || **d == '_')
                {
                    s.push(*d);
                    i += 1;
                }
                if s.is_empty() {
                    return Err(err(start, "expected a variable name after `$`"));
                }
                out.push((
                    start,
                    match s.as_str() {
                        "and" => Tok::And,
                        "or" => Tok::Or,
                        "not" => Tok::Not,
                        _ => Tok::Ident(s),
                    },
                ));
            }
            _ => return Err(err(start, &format!("unexpected character `{c}`"))),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.1)
    }
    fn offset(&self) -> usize {
        self.toks.get(self.pos).map(|t| t.0).unwrap_or(self.end)
    }
    fn err(&self, m: &str) -> ExprError {
        ExprError {
            offset: self.offset(),
            message: m.to_string(),
        }
    }
    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut l = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let r = self.and()?;
            l = Expr::Or(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut l = self.not()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let r = self.not()?;
            l = Expr::And(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn not(&mut self) -> Result<Expr, ExprError> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            self.enter()?;
            let e = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Result<Expr, ExprError> {
        let l = self.atom()?;
        if let Some(Tok::Op(op)) = self.peek() {
            let op = *op;
            self.pos += 1;
            let r = self.atom()?;
            return Ok(Expr::Cmp(Box::new(l), op, Box::new(r)));
        }
        Ok(l)
    }
    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("condition nested too deeply"));
        }
        Ok(())
    }
    fn atom(&mut self) -> Result<Expr, ExprError> {
        let tok = self.peek().cloned();
        match tok {
            Some(Tok::Int(n)) => {
                self.pos += 1;
                Ok(Expr::Lit(Value::Int(n)))
            }
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(Expr::Lit(Value::Text(s)))
            }
            Some(Tok::Ident(s)) => {
                self.pos += 1;
                Ok(match s.as_str() {
                    "true" => Expr::Lit(Value::Bool(true)),
                    "false" => Expr::Lit(Value::Bool(false)),
                    _ => Expr::Var(s),
                })
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                self.enter()?;
                let e = self.or()?;
                self.depth -= 1;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(self.err("expected `)`"));
                }
                self.pos += 1;
                Ok(e)
            }
            Some(_) => Err(self.err("expected a variable, number or string")),
            None => Err(self.err("unexpected end of condition")),
        }
    }
}

impl Expr {
    pub fn parse(src: &str) -> Result<Expr, ExprError> {
        let toks = lex(src)?;
        let mut p = Parser {
            toks,
            pos: 0,
            end: src.chars().count(),
            depth: 0,
        };
        let e = p.or()?;
        if p.pos != p.toks.len() {
            return Err(p.err("unexpected text after the condition"));
        }
        Ok(e)
    }

    /// Evaluates with `lookup` giving variable values.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> bool {
        self.value(lookup).is_some_and(|v| v.truthy())
    }

    fn value(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> Option<Value> {
        match self {
            Expr::Var(n) => lookup(n),
            Expr::Lit(v) => Some(v.clone()),
            Expr::Not(e) => Some(Value::Bool(!e.eval(lookup))),
            Expr::And(a, b) => Some(Value::Bool(a.eval(lookup) && b.eval(lookup))),
            Expr::Or(a, b) => Some(Value::Bool(a.eval(lookup) || b.eval(lookup))),
            Expr::Cmp(a, op, b) => {
                let (a, b) = (a.value(lookup), b.value(lookup));
                let ord = match (&a, &b) {
                    (Some(Value::Int(x)), Some(Value::Int(y))) => Some(x.cmp(y)),
                    (Some(Value::Text(x)), Some(Value::Text(y))) => Some(x.cmp(y)),
                    (Some(Value::Bool(x)), Some(Value::Bool(y))) => Some(x.cmp(y)),
                    // A number saved from a text reply compares with a number literal.
                    (Some(Value::Text(x)), Some(Value::Int(y))) => {
                        x.trim().parse::<i64>().ok().map(|x| x.cmp(y))
                    }
                    (Some(Value::Int(x)), Some(Value::Text(y))) => {
                        y.trim().parse::<i64>().ok().map(|y| x.cmp(&y))
                    }
                    _ => None,
                };
                let r = match (op, ord) {
                    (CmpOp::Ne, None) => true,
                    (_, None) => false,
                    (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
                    (CmpOp::Ne, Some(o)) => o != Ordering::Equal,
                    (CmpOp::Lt, Some(o)) => o == Ordering::Less,
                    (CmpOp::Le, Some(o)) => o != Ordering::Greater,
                    (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
                    (CmpOp::Ge, Some(o)) => o != Ordering::Less,
                };
                Some(Value::Bool(r))
            }
        }
    }

    /// The variables this condition reads (validation checks each is set).
    pub fn vars(&self, out: &mut Vec<String>) {
        match self {
            Expr::Var(n) => {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
            Expr::Lit(_) => {}
            Expr::Not(e) => e.vars(out),
            Expr::And(a, b) | Expr::Or(a, b) | Expr::Cmp(a, _, b) => {
                a.vars(out);
                b.vars(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn eval(src: &str, vars: &[(&str, Value)]) -> bool {
        let m: HashMap<String, Value> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        Expr::parse(src).unwrap().eval(&|n| m.get(n).cloned())
    }

    #[test]
    fn comparisons_and_logic() {
        assert!(eval("ahead > 5", &[("ahead", Value::Int(6))]));
        assert!(!eval("ahead > 5", &[("ahead", Value::Int(5))]));
        assert!(eval("lang == \"ar\"", &[("lang", "ar".into())]));
        assert!(eval("lang != 'ar'", &[]));
        assert!(!eval("missing == 1", &[]));
        assert!(eval("not missing", &[]));
        assert!(eval(
            "a and (b or c)",
            &[("a", true.into()), ("c", 1.into())]
        ));
        assert!(eval("$score <= 6 && score >= 0", &[("score", "3".into())]));
        assert!(eval("x == -2", &[("x", Value::Int(-2))]));
    }

    #[test]
    fn errors_have_offsets() {
        let e = Expr::parse("ahead = 5").unwrap_err();
        assert_eq!(e.offset, 6);
        assert!(Expr::parse("(a").is_err());
        assert!(Expr::parse("a b").is_err());
        assert!(Expr::parse("").is_err());
        assert!(Expr::parse(&"(".repeat(100)).is_err());
        assert!(Expr::parse(&"not ".repeat(100)).is_err());
    }

    #[test]
    fn lists_variables() {
        let mut v = vec![];
        Expr::parse("a > 1 and not (b == c)").unwrap().vars(&mut v);
        assert_eq!(v, ["a", "b", "c"]);
    }
}
