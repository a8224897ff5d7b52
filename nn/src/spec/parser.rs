//! The recursive-descent parser of one layer: a name and its call arguments, to a [`LayerSpec`],
//! checking only the syntax (which layers and arguments exist is [`super::bind`]'s business).
//! How layers are listed, named, grouped and made residual is [`super::blocks`]'.

use std::fmt;

use super::lexer::{Kind, Lexer, Token};
use super::Located;

/// One layer as written: its name and arguments, with their positions.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct LayerSpec {
    pub name: String,
    pub name_pos: usize,
    pub args: Vec<Arg>,
}

/// One argument: `value` or `keyword=value`. `pos` is where the value starts.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Arg {
    pub keyword: Option<(String, usize)>,
    pub value: Value,
    pub pos: usize,
}

/// An argument's value, as written. Numbers keep their text (with a leading `-` if negative)
/// until binding knows whether an integer or a float is wanted.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    Number(String),
    Bool(bool),
    None,
    Str(String),
    Tuple(Vec<Value>),
}

impl fmt::Display for Value {
    /// The value as Python would print it, strings in double quotes: `-3`, `True`, `"same"`,
    /// `(3,3)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(text) => f.write_str(text),
            Value::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            Value::None => f.write_str("None"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Tuple(items) => {
                let items: Vec<String> = items.iter().map(ToString::to_string).collect();
                let trailing = if items.len() == 1 { "," } else { "" };
                write!(f, "({}{trailing})", items.join(","))
            }
        }
    }
}

/// `expected {what}, found {token}` at the token.
pub(super) fn expected(what: &str, found: Token<'_>) -> Located {
    Located::new(
        found.pos,
        format!("expected {what}, found {}", found.describe()),
    )
}

/// A token stream with one token of lookahead, and the grammar of one layer.
pub(super) struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token<'a>>,
}

impl<'a> Parser<'a> {
    /// A parser at the start of `src`.
    pub fn new(src: &'a str) -> Self {
        Parser {
            lexer: Lexer::new(src),
            peeked: None,
        }
    }

    /// The next token, left in place.
    pub fn peek(&mut self) -> Result<Token<'a>, Located> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token()?);
        }
        Ok(self.peeked.expect("just filled"))
    }

    /// The next token, consumed.
    pub fn bump(&mut self) -> Result<Token<'a>, Located> {
        let token = self.peek()?;
        self.peeked = None;
        Ok(token)
    }

    /// Consumes the next token if it is a `kind`.
    pub fn eat(&mut self, kind: Kind) -> Result<bool, Located> {
        let matched = self.peek()?.kind == kind;
        if matched {
            self.peeked = None;
        }
        Ok(matched)
    }

    /// `layer = name [ "(" [ arg { "," arg } [ "," ] ] ")" ]`, after its `name` (an identifier
    /// token, already consumed).
    pub fn layer(&mut self, name: Token<'a>) -> Result<LayerSpec, Located> {
        debug_assert_eq!(name.kind, Kind::Ident);
        let args = if self.eat(Kind::LParen)? {
            self.args(name.text)?
        } else {
            Vec::new()
        };
        Ok(LayerSpec {
            name: name.text.to_string(),
            name_pos: name.pos,
            args,
        })
    }

    /// The arguments after `(`, through the closing `)`.
    fn args(&mut self, layer: &str) -> Result<Vec<Arg>, Located> {
        let mut args: Vec<Arg> = Vec::new();
        loop {
            if self.eat(Kind::RParen)? {
                return Ok(args);
            }
            let arg = self.arg()?;
            if arg.keyword.is_none() && args.iter().any(|a| a.keyword.is_some()) {
                return Err(Located::new(
                    arg.pos,
                    format!("{layer}: positional argument follows keyword argument"),
                ));
            }
            args.push(arg);
            let t = self.bump()?;
            match t.kind {
                Kind::Comma => {}
                Kind::RParen => return Ok(args),
                _ => return Err(expected("\",\" or \")\" after argument", t)),
            }
        }
    }

    /// `arg = [ name "=" ] value`
    fn arg(&mut self) -> Result<Arg, Located> {
        let first = self.peek()?;
        if first.kind == Kind::Ident {
            self.bump()?;
            if !self.eat(Kind::Equals)? {
                return Ok(Arg {
                    keyword: None,
                    value: word(first)?,
                    pos: first.pos,
                });
            }
            let pos = self.peek()?.pos;
            return Ok(Arg {
                keyword: Some((first.text.to_string(), first.pos)),
                value: self.value()?,
                pos,
            });
        }
        Ok(Arg {
            keyword: None,
            value: self.value()?,
            pos: first.pos,
        })
    }

    /// `value = scalar | "(" scalar { "," scalar } [ "," ] ")"`. As in Python, `(3)` is `3`
    /// and `(3,)` a one-element tuple.
    fn value(&mut self) -> Result<Value, Located> {
        let t = self.bump()?;
        if t.kind != Kind::LParen {
            return self.scalar(t);
        }
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            let t = self.bump()?;
            if t.kind == Kind::RParen && !items.is_empty() {
                break;
            }
            items.push(self.scalar(t)?);
            let t = self.bump()?;
            match t.kind {
                Kind::Comma => trailing_comma = true,
                Kind::RParen => {
                    trailing_comma = false;
                    break;
                }
                _ => return Err(expected("\",\" or \")\" in tuple", t)),
            }
        }
        if items.len() == 1 && !trailing_comma {
            return Ok(items.remove(0));
        }
        Ok(Value::Tuple(items))
    }

    /// `scalar = [ "-" ] number | True | False | true | false | None | string`, starting at `t`.
    fn scalar(&mut self, t: Token<'a>) -> Result<Value, Located> {
        match t.kind {
            Kind::Number => Ok(Value::Number(t.text.to_string())),
            Kind::Minus => {
                let n = self.bump()?;
                if n.kind != Kind::Number {
                    return Err(expected("a number after \"-\"", n));
                }
                Ok(Value::Number(format!("-{}", n.text)))
            }
            Kind::Str => Ok(Value::Str(t.text[1..t.text.len() - 1].to_string())),
            Kind::Ident => word(t),
            _ => Err(expected("a value", t)),
        }
    }
}

/// A bare word used as a value: `True`, `False`, `None` (and lowercase `true`, `false`).
fn word(t: Token<'_>) -> Result<Value, Located> {
    match t.text {
        "True" | "true" => Ok(Value::Bool(true)),
        "False" | "false" => Ok(Value::Bool(false)),
        "None" => Ok(Value::None),
        _ => Err(Located::new(
            t.pos,
            format!(
                "expected a value, found \"{}\" (a keyword argument needs \"=\", a string \
                 needs quotes)",
                t.text
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Layers separated by commas.
    fn parse(src: &str) -> Result<Vec<LayerSpec>, Located> {
        let mut p = Parser::new(src);
        let mut layers = Vec::new();
        loop {
            let name = p.bump()?;
            layers.push(p.layer(name)?);
            if !p.eat(Kind::Comma)? {
                return Ok(layers);
            }
        }
    }

    fn num(s: &str) -> Value {
        Value::Number(s.to_string())
    }

    #[test]
    fn spec_parser_builds_layer_specs_with_positions() {
        let layers = parse("conv2d(1, -2, kernel_size=(3,5), padding_mode='zeros'), relu").unwrap();
        assert_eq!(layers.len(), 2);
        let conv = &layers[0];
        assert_eq!((conv.name.as_str(), conv.name_pos), ("conv2d", 0));
        assert_eq!(
            conv.args,
            vec![
                Arg {
                    keyword: None,
                    value: num("1"),
                    pos: 7
                },
                Arg {
                    keyword: None,
                    value: num("-2"),
                    pos: 10
                },
                Arg {
                    keyword: Some(("kernel_size".to_string(), 14)),
                    value: Value::Tuple(vec![num("3"), num("5")]),
                    pos: 26
                },
                Arg {
                    keyword: Some(("padding_mode".to_string(), 33)),
                    value: Value::Str("zeros".to_string()),
                    pos: 46
                },
            ]
        );
        assert_eq!((layers[1].name.as_str(), layers[1].name_pos), ("relu", 56));
        assert!(layers[1].args.is_empty());
    }

    #[test]
    fn spec_parser_python_tuple_rules() {
        let value = |s: &str| {
            parse(&format!("x(a={s})")).unwrap()[0].args[0]
                .value
                .clone()
        };
        assert_eq!(value("(3)"), num("3"));
        assert_eq!(value("(3,)"), Value::Tuple(vec![num("3")]));
        assert_eq!(value("( 3 , 4 , )"), Value::Tuple(vec![num("3"), num("4")]));
        assert_eq!(value("(3,)").to_string(), "(3,)");
        assert_eq!(
            value("(-1,'a',None,True)").to_string(),
            "(-1,\"a\",None,True)"
        );
    }

    #[test]
    fn spec_parser_syntax_errors() {
        let err = |s: &str| {
            let e = parse(s).unwrap_err();
            (e.pos, e.message)
        };
        assert_eq!(
            err("x(a=((1,2)))"),
            (5, "expected a value, found \"(\"".to_string())
        );
        assert_eq!(
            err("x(- a)"),
            (4, "expected a number after \"-\", found \"a\"".to_string())
        );
        assert_eq!(
            err("x(a 1)"),
            (
                2,
                "expected a value, found \"a\" (a keyword argument needs \"=\", a string needs \
                 quotes)"
                    .to_string()
            )
        );
    }
}
