//! The lexer: splits a spec into [`Token`]s carrying their byte offsets. It runs on demand (the
//! parser pulls one token at a time), so the first problem in reading order is the one reported.

use super::Located;

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `conv2d`, `padding`, `True`: an ASCII letter or `_`, then letters, digits and `_`.
    Ident,
    /// `3`, `0.01`, `.5`, `1e-05` (unsigned: a minus sign is its own token).
    Number,
    /// `'zeros'` or `"zeros"`, quotes included in the text.
    Str,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `=`
    Equals,
    /// `:` (after a layer's name: `conv1: conv2d(3,8,7)`)
    Colon,
    /// `-`
    Minus,
    /// The end of the spec.
    End,
}

/// A token: its kind, its text in the spec, and the byte offset where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
    pub pos: usize,
}

impl Token<'_> {
    /// How an error message names the token: `"conv2d"`, `")"`, `3`, `end of input`.
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::End => "end of input".to_string(),
            Kind::Number | Kind::Str => self.text.to_string(),
            _ => format!("\"{}\"", self.text),
        }
    }
}

/// A cursor over the spec that hands out one token at a time.
pub(super) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`.
    pub fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    /// The next token, skipping whitespace; [`Kind::End`] (again and again) at the end.
    ///
    /// # Errors
    /// A character that starts no token, or a string without its closing quote.
    pub fn next_token(&mut self) -> Result<Token<'a>, Located> {
        let rest = &self.src[self.pos..];
        let trimmed = rest.trim_start();
        self.pos += rest.len() - trimmed.len();
        let start = self.pos;
        let mut chars = trimmed.chars();
        let Some(c) = chars.next() else {
            return Ok(Token {
                kind: Kind::End,
                text: "",
                pos: start,
            });
        };
        let starts_number =
            c.is_ascii_digit() || (c == '.' && chars.next().is_some_and(|d| d.is_ascii_digit()));
        let (kind, len) = match c {
            '(' => (Kind::LParen, 1),
            ')' => (Kind::RParen, 1),
            ',' => (Kind::Comma, 1),
            '=' => (Kind::Equals, 1),
            ':' => (Kind::Colon, 1),
            '-' => (Kind::Minus, 1),
            '\'' | '"' => (Kind::Str, string_len(trimmed, c, start)?),
            _ if starts_number => (Kind::Number, number_len(trimmed)),
            _ if c.is_ascii_alphabetic() || c == '_' => (Kind::Ident, ident_len(trimmed)),
            _ => return Err(Located::new(start, format!("unexpected character {c:?}"))),
        };
        self.pos += len;
        Ok(Token {
            kind,
            text: &trimmed[..len],
            pos: start,
        })
    }
}

/// The length of the quoted string at the start of `s`, quotes included.
fn string_len(s: &str, quote: char, start: usize) -> Result<usize, Located> {
    s[1..].find(quote).map(|i| i + 2).ok_or_else(|| {
        Located::new(
            start,
            format!("unterminated string: no closing {quote} before end of input"),
        )
    })
}

/// The length of the number at the start of `s`: `digits [. digits] [e [+-] digits]`, or
/// `. digits [exponent]`. An `e` not followed by digits is left out (and then lexed as a name).
fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let digits_from = |i: usize| i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut end = digits_from(0);
    if b.get(end) == Some(&b'.') {
        end = digits_from(end + 1);
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        let exponent_start = end + 1 + sign;
        let exponent_end = digits_from(exponent_start);
        if exponent_end > exponent_start {
            end = exponent_end;
        }
    }
    end
}

/// The length of the name at the start of `s` (ASCII letters, digits and `_`).
fn ident_len(s: &str) -> usize {
    s.bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(src: &str) -> Result<Vec<(Kind, &str, usize)>, Located> {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token()?;
            out.push((t.kind, t.text, t.pos));
            if t.kind == Kind::End {
                return Ok(out);
            }
        }
    }

    #[test]
    fn spec_lexer_tokens_carry_byte_offsets() {
        use Kind::*;
        let tokens = lex(" conv2d(1, -2,'zeros'):").unwrap();
        assert_eq!(
            tokens,
            vec![
                (Ident, "conv2d", 1),
                (LParen, "(", 7),
                (Number, "1", 8),
                (Comma, ",", 9),
                (Minus, "-", 11),
                (Number, "2", 12),
                (Comma, ",", 13),
                (Str, "'zeros'", 14),
                (RParen, ")", 21),
                (Colon, ":", 22),
                (End, "", 23),
            ]
        );
    }

    #[test]
    fn spec_lexer_numbers() {
        for (src, number) in [
            ("1e-05", "1e-05"),
            (".5)", ".5"),
            ("0.01,", "0.01"),
            ("5.", "5."),
            ("2E+3", "2E+3"),
            ("3e", "3"),
            ("2d", "2"),
        ] {
            assert_eq!(lex(src).unwrap()[0], (Kind::Number, number, 0), "{src}");
        }
    }

    #[test]
    fn spec_lexer_errors() {
        let e = lex("relu, é").unwrap_err();
        assert_eq!((e.pos, e.message.as_str()), (6, "unexpected character 'é'"));
        let e = lex("conv2d(padding_mode='zeros)").unwrap_err();
        assert_eq!(e.pos, 20);
        assert_eq!(
            e.message,
            "unterminated string: no closing ' before end of input"
        );
    }
}
