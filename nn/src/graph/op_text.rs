//! A [`TensorOp`] written as text, as its `Display` prints it (`concat(axis=1)`,
//! `reshape([-1, 4])`, `mean(axes=[2, 3],keepdim=true)`), parsed back for the graph description.
//!
//! ```text
//! op    = name , [ "(" , [ arg , { "," , arg } ] , ")" ] ;
//! arg   = [ name , "=" ] , value ;             (* positional arguments in the op's order *)
//! value = atom | "[" , [ atom , { "," , atom } ] , "]" ;
//! atom  = a run of characters other than "( ) [ ] , =" and whitespace ;
//! ```

use super::TensorOp;

/// A message and the byte offset in the op text it is about.
pub(super) type Located = (usize, String);

/// The type of one op argument.
#[derive(Clone, Copy)]
enum Kind {
    Float,
    Index,
    Flag,
    Indices,
    Dims,
}

/// Every op, with its arguments in positional order.
const OPS: &[(&str, &[(&str, Kind)])] = &[
    ("add", &[]),
    ("sub", &[]),
    ("mul", &[]),
    ("div", &[]),
    ("matmul", &[]),
    ("expand_batch", &[]),
    ("scale", &[("factor", Kind::Float)]),
    ("concat", &[("axis", Kind::Index)]),
    (
        "narrow",
        &[
            ("axis", Kind::Index),
            ("start", Kind::Index),
            ("len", Kind::Index),
        ],
    ),
    ("flatten", &[("start", Kind::Index)]),
    ("reshape", &[("dims", Kind::Dims)]),
    ("permute", &[("perm", Kind::Indices)]),
    ("mean", &[("axes", Kind::Indices), ("keepdim", Kind::Flag)]),
    ("reshape_all", &[("dims", Kind::Dims)]),
    ("erf", &[]),
    ("sqrt", &[]),
    ("pow", &[("exponent", Kind::Float)]),
    (
        "pad",
        &[
            ("axis", Kind::Index),
            ("before", Kind::Index),
            ("after", Kind::Index),
        ],
    ),
];

/// An argument's value as written: one atom, or a bracketed list of atoms, with offsets.
enum Value<'a> {
    Atom(usize, &'a str),
    List(usize, Vec<(usize, &'a str)>),
}

impl Value<'_> {
    fn pos(&self) -> usize {
        match self {
            Value::Atom(p, _) | Value::List(p, _) => *p,
        }
    }
}

/// One parsed value, typed.
enum Arg {
    Float(f64),
    Index(usize),
    Flag(bool),
    Indices(Vec<usize>),
    Dims(Vec<isize>),
}

/// Parses an op as its `Display` prints it.
///
/// # Errors
/// The offset of the problem and what was expected and found: an unknown op (listing the known
/// ones), a syntax error, an unknown, repeated or missing argument, or a value of the wrong type.
pub(super) fn parse_op(text: &str) -> Result<TensorOp, Located> {
    let mut s = Scanner { text, pos: 0 };
    s.skip_ws();
    let (name_pos, name) = s.ident();
    let Some((_, params)) = OPS.iter().find(|(n, _)| *n == name) else {
        let known: Vec<&str> = OPS.iter().map(|(n, _)| *n).collect();
        return Err((
            name_pos,
            format!(
                "expected an op ({}), found {}",
                known.join(", "),
                s.describe(name_pos, name)
            ),
        ));
    };
    let args = if s.eat('(') { s.args()? } else { Vec::new() };
    s.skip_ws();
    if s.pos < text.len() {
        return Err((
            s.pos,
            format!("expected the end of the op, found {}", s.found()),
        ));
    }
    let mut bound: Vec<Option<Arg>> = params.iter().map(|_| None).collect();
    for (i, (keyword, value)) in args.into_iter().enumerate() {
        let slot = match keyword {
            Some((kpos, k)) => params.iter().position(|(n, _)| *n == k).ok_or_else(|| {
                let names: Vec<&str> = params.iter().map(|(n, _)| *n).collect();
                (
                    kpos,
                    format!(
                        "{name}: unexpected argument {k:?} (it takes {})",
                        takes(&names)
                    ),
                )
            })?,
            None if i < params.len() => i,
            None => {
                return Err((
                    value.pos(),
                    format!(
                        "{name}: takes {} argument{}, found more",
                        params.len(),
                        if params.len() == 1 { "" } else { "s" }
                    ),
                ))
            }
        };
        if bound[slot].is_some() {
            return Err((
                value.pos(),
                format!("{name}: argument {:?} is given twice", params[slot].0),
            ));
        }
        bound[slot] = Some(typed(name, params[slot], value)?);
    }
    let mut values = Vec::with_capacity(params.len());
    for (slot, (param, _)) in bound.into_iter().zip(params.iter()) {
        values
            .push(slot.ok_or_else(|| (text.len(), format!("{name}: missing argument {param:?}")))?);
    }
    Ok(build(name, values))
}

/// `a`, `a and b`, `a, b and c`; or `no arguments`.
fn takes(names: &[&str]) -> String {
    match names {
        [] => "no arguments".to_string(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The value of argument `param` of op `op`, converted to its type.
fn typed(op: &str, (param, kind): (&str, Kind), value: Value<'_>) -> Result<Arg, Located> {
    let wrong = |pos: usize, what: &str, found: &str| {
        (
            pos,
            format!("{op}: expected {what} for {param:?}, found {found:?}"),
        )
    };
    let index = |(pos, a): (usize, &str)| {
        a.parse::<usize>()
            .map_err(|_| wrong(pos, "a non-negative integer", a))
    };
    match (kind, value) {
        (Kind::Float, Value::Atom(pos, a)) => a
            .parse::<f64>()
            .map(Arg::Float)
            .map_err(|_| wrong(pos, "a number", a)),
        (Kind::Index, Value::Atom(pos, a)) => index((pos, a)).map(Arg::Index),
        (Kind::Flag, Value::Atom(pos, a)) => match a {
            "true" | "True" => Ok(Arg::Flag(true)),
            "false" | "False" => Ok(Arg::Flag(false)),
            _ => Err(wrong(pos, "true or false", a)),
        },
        (Kind::Indices, Value::List(_, items)) => items
            .into_iter()
            .map(index)
            .collect::<Result<_, _>>()
            .map(Arg::Indices),
        (Kind::Dims, Value::List(_, items)) => items
            .into_iter()
            .map(|(pos, a)| a.parse::<isize>().map_err(|_| wrong(pos, "an integer", a)))
            .collect::<Result<_, _>>()
            .map(Arg::Dims),
        (Kind::Indices | Kind::Dims, Value::Atom(pos, a)) => {
            Err(wrong(pos, "a list [a, b, ...]", a))
        }
        (_, Value::List(pos, _)) => Err((
            pos,
            format!("{op}: expected a single value for {param:?}, found a list"),
        )),
    }
}

/// The op named `name` from its typed arguments (in positional order, all present).
fn build(name: &str, args: Vec<Arg>) -> TensorOp {
    let mut it = args.into_iter();
    let mut next = || it.next().expect("parse_op checked every argument");
    let index = |a: Arg| match a {
        Arg::Index(i) => i,
        _ => unreachable!("typed by its kind"),
    };
    let indices = |a: Arg| match a {
        Arg::Indices(v) => v,
        _ => unreachable!("typed by its kind"),
    };
    match name {
        "add" => TensorOp::Add,
        "sub" => TensorOp::Sub,
        "mul" => TensorOp::Mul,
        "div" => TensorOp::Div,
        "matmul" => TensorOp::MatMul,
        "expand_batch" => TensorOp::ExpandBatch,
        "scale" => match next() {
            Arg::Float(c) => TensorOp::Scale(c),
            _ => unreachable!("typed by its kind"),
        },
        "concat" => TensorOp::Concat {
            axis: index(next()),
        },
        "narrow" => TensorOp::Narrow {
            axis: index(next()),
            start: index(next()),
            len: index(next()),
        },
        "flatten" => TensorOp::Flatten {
            start: index(next()),
        },
        "reshape" => match next() {
            Arg::Dims(dims) => TensorOp::Reshape { dims },
            _ => unreachable!("typed by its kind"),
        },
        "permute" => TensorOp::Permute {
            perm: indices(next()),
        },
        "mean" => TensorOp::Mean {
            axes: indices(next()),
            keepdim: matches!(next(), Arg::Flag(true)),
        },
        "reshape_all" => match next() {
            Arg::Dims(dims) => TensorOp::ReshapeAll { dims },
            _ => unreachable!("typed by its kind"),
        },
        "erf" => TensorOp::Erf,
        "sqrt" => TensorOp::Sqrt,
        "pow" => match next() {
            Arg::Float(p) => TensorOp::Pow(p),
            _ => unreachable!("typed by its kind"),
        },
        "pad" => TensorOp::Pad {
            axis: index(next()),
            before: index(next()),
            after: index(next()),
        },
        _ => unreachable!("parse_op found the op in OPS"),
    }
}

/// A cursor over the op text.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

/// The characters that end an atom.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || "()[],=".contains(c)
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += self.peek().map_or(0, char::len_utf8);
        }
    }

    /// Skips whitespace and `c` if it comes next.
    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// The next run of non-delimiters (possibly empty), with its offset.
    fn atom(&mut self) -> (usize, &'a str) {
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(|c| !is_delimiter(c)) {
            self.pos += self.peek().map_or(0, char::len_utf8);
        }
        (start, &self.text[start..self.pos])
    }

    /// A name: an atom (checked by the caller against the names it knows).
    fn ident(&mut self) -> (usize, &'a str) {
        self.atom()
    }

    /// What comes next, for an error message.
    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the op".to_string(),
            Some(c) => format!("{c:?}"),
        }
    }

    /// `atom`, or what is at `pos` if the atom is empty.
    fn describe(&self, pos: usize, atom: &str) -> String {
        if atom.is_empty() {
            let rest = &self.text[pos..];
            rest.chars()
                .next()
                .map_or("the end of the op".to_string(), |c| format!("{c:?}"))
        } else {
            format!("{atom:?}")
        }
    }

    /// A required atom, or an error saying what it stands for.
    fn required(&mut self, what: &str) -> Result<(usize, &'a str), Located> {
        let (pos, a) = self.atom();
        if a.is_empty() {
            return Err((pos, format!("expected {what}, found {}", self.found())));
        }
        Ok((pos, a))
    }

    /// The arguments after `(`, through `)`.
    #[allow(clippy::type_complexity)]
    fn args(&mut self) -> Result<Vec<(Option<(usize, &'a str)>, Value<'a>)>, Located> {
        let mut args = Vec::new();
        if self.eat(')') {
            return Ok(args);
        }
        loop {
            let value = self.value()?;
            let arg = if self.eat('=') {
                let Value::Atom(kpos, k) = value else {
                    return Err((value.pos(), "expected an argument name before \"=\"".into()));
                };
                (Some((kpos, k)), self.value()?)
            } else {
                (None, value)
            };
            if arg.0.is_none() && args.iter().any(|(k, _): &(Option<_>, _)| k.is_some()) {
                return Err((
                    arg.1.pos(),
                    "positional argument follows keyword argument".into(),
                ));
            }
            args.push(arg);
            if self.eat(')') {
                return Ok(args);
            }
            if !self.eat(',') {
                return Err((
                    self.pos,
                    format!("expected \",\" or \")\", found {}", self.found()),
                ));
            }
        }
    }

    /// An atom or a bracketed list.
    fn value(&mut self) -> Result<Value<'a>, Located> {
        self.skip_ws();
        let start = self.pos;
        if !self.eat('[') {
            let (pos, a) = self.required("a value")?;
            return Ok(Value::Atom(pos, a));
        }
        let mut items = Vec::new();
        if self.eat(']') {
            return Ok(Value::List(start, items));
        }
        loop {
            items.push(self.required("a list item")?);
            if self.eat(']') {
                return Ok(Value::List(start, items));
            }
            if !self.eat(',') {
                return Err((
                    self.pos,
                    format!("expected \",\" or \"]\", found {}", self.found()),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_parses_back_from_its_display() {
        let ops = [
            TensorOp::Add,
            TensorOp::Sub,
            TensorOp::Mul,
            TensorOp::Div,
            TensorOp::MatMul,
            TensorOp::ExpandBatch,
            TensorOp::Scale(0.125),
            TensorOp::Scale(1e-300),
            TensorOp::Scale(f64::NEG_INFINITY),
            TensorOp::Scale(1.0 / 3.0),
            TensorOp::Concat { axis: 1 },
            TensorOp::Narrow {
                axis: 1,
                start: 2,
                len: 3,
            },
            TensorOp::Flatten { start: 1 },
            TensorOp::Reshape { dims: vec![-1, 4] },
            TensorOp::Reshape { dims: vec![] },
            TensorOp::Permute {
                perm: vec![0, 2, 1],
            },
            TensorOp::Mean {
                axes: vec![2, 3],
                keepdim: true,
            },
            TensorOp::ReshapeAll {
                dims: vec![17, -1, 16],
            },
            TensorOp::Erf,
            TensorOp::Sqrt,
            TensorOp::Pow(-0.5),
            TensorOp::Pad {
                axis: 2,
                before: 0,
                after: 1,
            },
        ];
        for op in ops {
            assert_eq!(parse_op(&op.to_string()), Ok(op.clone()), "{op}");
        }
        assert_eq!(
            parse_op(" narrow( len = 3, axis=1 ,start=2 ) "),
            Ok(TensorOp::Narrow {
                axis: 1,
                start: 2,
                len: 3
            })
        );
        assert_eq!(parse_op("scale(factor=2)"), Ok(TensorOp::Scale(2.0)));
    }

    #[test]
    fn errors_point_at_the_problem_and_say_what_was_expected() {
        let cases: [(&str, usize, &str); 11] = [
            ("ad", 0, "expected an op (add, sub, mul, div, matmul, expand_batch, scale, concat, narrow, flatten, reshape, permute, mean, reshape_all, erf, sqrt, pow, pad), found \"ad\""),
            ("", 0, "expected an op (add, sub, mul, div, matmul, expand_batch, scale, concat, narrow, flatten, reshape, permute, mean, reshape_all, erf, sqrt, pow, pad), found the end of the op"),
            ("concat(axis=x)", 12, "concat: expected a non-negative integer for \"axis\", found \"x\""),
            ("concat(dim=1)", 7, "concat: unexpected argument \"dim\" (it takes axis)"),
            ("concat", 6, "concat: missing argument \"axis\""),
            ("concat(1, 2)", 10, "concat: takes 1 argument, found more"),
            ("concat(1, axis=2)", 15, "concat: argument \"axis\" is given twice"),
            ("reshape(4)", 8, "reshape: expected a list [a, b, ...] for \"dims\", found \"4\""),
            ("mean([1] keepdim=true)", 9, "expected \",\" or \")\", found 'k'"),
            ("permute([0, 1)", 13, "expected \",\" or \"]\", found ')'"),
            ("add x", 4, "expected the end of the op, found 'x'"),
        ];
        for (text, pos, message) in cases {
            assert_eq!(parse_op(text), Err((pos, message.to_string())), "{text}");
        }
    }
}
