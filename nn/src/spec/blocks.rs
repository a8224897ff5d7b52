//! The structure of a spec: layers listed with commas, optionally named (`conv1: conv2d(...)`),
//! grouped into nested `Sequential`s (`layer1: (...)`) and residual blocks
//! (`residual(body..., downsample=(...), after=relu)`), to a tree of [`Entry`]s. Each layer itself
//! is [`super::parser`]'s.

use super::lexer::{Kind, Token};
use super::parser::{expected, LayerSpec, Parser};
use super::suggest::suggest;
use super::Located;
use crate::residual::{AFTER, DOWNSAMPLE};

/// The reserved name of the residual form.
pub(super) const RESIDUAL: &str = "residual";

/// The keywords of `residual(...)`, in the order `Display` prints them.
const RESIDUAL_KEYWORDS: [&str; 2] = [DOWNSAMPLE, AFTER];

/// How deep groups and residual blocks may nest (a guard against stack exhaustion; a ResNet
/// needs 3).
pub(super) const MAX_DEPTH: usize = 64;

/// One child of a `Sequential`: its name (with position), if given, and what it is.
#[derive(Debug, PartialEq)]
pub(super) struct Entry {
    pub name: Option<(String, usize)>,
    pub item: Item,
}

/// A layer, a group, or a residual block.
#[derive(Debug, PartialEq)]
pub(super) enum Item {
    /// `conv2d(1,16,3)`.
    Layer(LayerSpec),
    /// `(entry, ...)`, a nested `Sequential`; `pos` is the `(`.
    Group { pos: usize, entries: Vec<Entry> },
    /// `residual(entry, ..., downsample=item, after=item)`; `pos` is the name.
    Residual {
        pos: usize,
        body: Vec<Entry>,
        downsample: Option<Box<Item>>,
        after: Option<Box<Item>>,
    },
}

impl Item {
    /// Where the item starts.
    fn pos(&self) -> usize {
        match self {
            Item::Layer(layer) => layer.name_pos,
            Item::Group { pos, .. } | Item::Residual { pos, .. } => *pos,
        }
    }
}

impl Entry {
    /// Where the entry starts (its name, if it has one).
    fn pos(&self) -> usize {
        self.name.as_ref().map_or(self.item.pos(), |(_, pos)| *pos)
    }
}

/// Checks a layer name when the layer's arguments do not parse, so that an unknown layer is
/// reported rather than a syntax error inside it (`resdual(relu)`): `Err` for an unknown name.
pub(super) type CheckLayer<'c> = &'c dyn Fn(&str, usize) -> Result<(), Located>;

/// Parses a whole spec: `spec = entry { "," entry }`.
///
/// # Errors
/// The first syntax error in reading order, with its position.
pub(super) fn parse(src: &str, check_layer: CheckLayer<'_>) -> Result<Vec<Entry>, Located> {
    let mut b = Blocks {
        p: Parser::new(src),
        check_layer,
    };
    let mut entries = Vec::new();
    let mut names = Names::default();
    loop {
        let entry = b.entry(0)?;
        names.add(&entry)?;
        entries.push(entry);
        let t = b.p.bump()?;
        match t.kind {
            Kind::End => return Ok(entries),
            Kind::Comma => {}
            _ => return Err(expected("\",\" or end of input after layer", t)),
        }
    }
}

/// The names given so far in one `Sequential`, to refuse duplicates.
#[derive(Default)]
struct Names(Vec<(String, usize)>);

impl Names {
    /// Records `name` given at `pos`.
    fn add_name(&mut self, name: &str, pos: usize) -> Result<(), Located> {
        if let Some((_, first)) = self.0.iter().find(|(n, _)| n == name) {
            let message = format!("duplicate name \"{name}\" (first at position {first})");
            return Err(Located::new(pos, message));
        }
        self.0.push((name.to_string(), pos));
        Ok(())
    }

    /// Records the entry's name, if it has one.
    fn add(&mut self, entry: &Entry) -> Result<(), Located> {
        match &entry.name {
            Some((name, pos)) => self.add_name(name, *pos),
            None => Ok(()),
        }
    }
}

/// What starts an element of a list: an entry, or (in `residual(...)`) a keyword and its `=`.
enum Part<'a> {
    Entry(Entry),
    Keyword(Token<'a>),
}

struct Blocks<'a, 'c> {
    p: Parser<'a>,
    check_layer: CheckLayer<'c>,
}

impl<'a> Blocks<'a, '_> {
    /// `entry = [ name ":" ] item`.
    fn entry(&mut self, depth: usize) -> Result<Entry, Located> {
        match self.part(false, depth)? {
            Part::Entry(entry) => Ok(entry),
            Part::Keyword(_) => unreachable!("keywords are not taken here"),
        }
    }

    /// An entry, or with `keywords`, `name "="`.
    fn part(&mut self, keywords: bool, depth: usize) -> Result<Part<'a>, Located> {
        let t = self.p.bump()?;
        if t.kind == Kind::Ident {
            match self.p.peek()?.kind {
                Kind::Colon => {
                    self.p.bump()?;
                    let first = self.p.bump()?;
                    return Ok(Part::Entry(Entry {
                        name: Some((t.text.to_string(), t.pos)),
                        item: self.item(first, depth)?,
                    }));
                }
                Kind::Equals if keywords => {
                    self.p.bump()?;
                    return Ok(Part::Keyword(t));
                }
                _ => {}
            }
        }
        Ok(Part::Entry(Entry {
            name: None,
            item: self.item(t, depth)?,
        }))
    }

    /// `item = layer | group | residual`, starting at `t`.
    fn item(&mut self, t: Token<'a>, depth: usize) -> Result<Item, Located> {
        let nested = matches!(t.kind, Kind::LParen) || t.text == RESIDUAL;
        if nested && depth >= MAX_DEPTH {
            let message = format!("groups and residual blocks nest deeper than {MAX_DEPTH} levels");
            return Err(Located::new(t.pos, message));
        }
        match t.kind {
            Kind::LParen => self.group(t.pos, depth + 1),
            Kind::Ident if t.text == RESIDUAL => {
                let open = self.p.bump()?;
                if open.kind != Kind::LParen {
                    let what = "\"(\" after \"residual\" (a residual block needs its body: \
                                residual(layer, ...))";
                    return Err(expected(what, open));
                }
                self.residual(t.pos, depth + 1)
            }
            Kind::Ident => self.p.layer(t).map(Item::Layer).map_err(|e| {
                // An unknown layer is the first problem, whatever its arguments look like.
                (self.check_layer)(t.text, t.pos).err().unwrap_or(e)
            }),
            _ => Err(expected("a layer name", t)),
        }
    }

    /// `group = "(" [ entry { "," entry } [ "," ] ] ")"`, after the `(` at `open`.
    fn group(&mut self, open: usize, depth: usize) -> Result<Item, Located> {
        let mut entries = Vec::new();
        let mut names = Names::default();
        loop {
            if self.p.eat(Kind::RParen)? {
                break;
            }
            let entry = self.entry(depth)?;
            names.add(&entry)?;
            entries.push(entry);
            let t = self.p.bump()?;
            match t.kind {
                Kind::Comma => {}
                Kind::RParen => break,
                _ => {
                    let what =
                        format!("\",\" or \")\" closing the group opened at position {open}");
                    return Err(expected(&what, t));
                }
            }
        }
        Ok(Item::Group { pos: open, entries })
    }

    /// `residual = "residual" "(" entry { "," entry } { "," keyword "=" item } [ "," ] ")"`,
    /// after the `(`; `pos` is the name.
    fn residual(&mut self, pos: usize, depth: usize) -> Result<Item, Located> {
        let mut body = Vec::new();
        let mut names = Names::default();
        let mut slots: [Option<Box<Item>>; 2] = [None, None];
        let mut keyword_seen = false;
        loop {
            if self.p.eat(Kind::RParen)? {
                break;
            }
            match self.part(true, depth)? {
                Part::Entry(entry) if keyword_seen => {
                    let message = "residual: body layer follows keyword argument".to_string();
                    return Err(Located::new(entry.pos(), message));
                }
                Part::Entry(entry) => {
                    names.add(&entry)?;
                    body.push(entry);
                }
                Part::Keyword(k) => {
                    keyword_seen = true;
                    let i = residual_keyword(k)?;
                    if slots[i].is_some() {
                        let message = format!("residual: argument \"{}\" given twice", k.text);
                        return Err(Located::new(k.pos, message));
                    }
                    names.add_name(k.text, k.pos)?;
                    let first = self.p.bump()?;
                    slots[i] = Some(Box::new(self.item(first, depth)?));
                }
            }
            let t = self.p.bump()?;
            match t.kind {
                Kind::Comma => {}
                Kind::RParen => break,
                _ => {
                    let what = format!("\",\" or \")\" closing the residual at position {pos}");
                    return Err(expected(&what, t));
                }
            }
        }
        if body.is_empty() {
            let message = "residual: the body needs at least one layer: residual(layer, ...)";
            return Err(Located::new(pos, message.to_string()));
        }
        let [downsample, after] = slots;
        Ok(Item::Residual {
            pos,
            body,
            downsample,
            after,
        })
    }
}

/// The index of a `residual` keyword in [`RESIDUAL_KEYWORDS`], or an error suggesting one.
fn residual_keyword(k: Token<'_>) -> Result<usize, Located> {
    let known = RESIDUAL_KEYWORDS.iter().copied();
    if let Some(i) = known.clone().position(|n| n == k.text) {
        return Ok(i);
    }
    let hint = match suggest(k.text, known.clone()) {
        Some(name) => format!("did you mean \"{name}\"?"),
        None => format!(
            "residual takes: {} (and its body's layers before them)",
            known.collect::<Vec<_>>().join(", ")
        ),
    };
    let message = format!(
        "residual: unexpected keyword argument \"{}\"; {hint}",
        k.text
    );
    Err(Located::new(k.pos, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(src: &str) -> Vec<Entry> {
        parse(src, &|_, _| Ok(())).unwrap_or_else(|e| panic!("{src:?}: {e:?}"))
    }

    fn err(src: &str) -> (usize, String) {
        let e = parse(src, &|_, _| Ok(())).unwrap_err();
        (e.pos, e.message)
    }

    fn layer_name(item: &Item) -> &str {
        match item {
            Item::Layer(l) => &l.name,
            other => panic!("not a layer: {other:?}"),
        }
    }

    #[test]
    fn spec_blocks_names_groups_and_residuals() {
        let entries =
            parse_ok("c: conv2d(1,2,3), (relu, t: tanh), residual(relu, downsample=(tanh))");
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].name, Some(("c".to_string(), 0)));
        assert_eq!(layer_name(&entries[0].item), "conv2d");
        let Item::Group {
            pos,
            entries: group,
        } = &entries[1].item
        else {
            panic!("{:?}", entries[1]);
        };
        assert_eq!((*pos, group.len()), (18, 2));
        assert_eq!(group[1].name, Some(("t".to_string(), 25)));
        let Item::Residual {
            pos,
            body,
            downsample,
            after,
        } = &entries[2].item
        else {
            panic!("{:?}", entries[2]);
        };
        assert_eq!((*pos, body.len(), after.is_none()), (35, 1, true));
        assert!(
            matches!(downsample.as_deref(), Some(Item::Group { entries, .. }) if entries.len() == 1)
        );
    }

    #[test]
    fn spec_blocks_syntax_errors() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "(relu, tanh",
                11,
                "expected \",\" or \")\" closing the group opened at position 0, found end of input",
            ),
            (
                "residual()",
                0,
                "residual: the body needs at least one layer: residual(layer, ...)",
            ),
            (
                "residual(downsample=relu)",
                0,
                "residual: the body needs at least one layer: residual(layer, ...)",
            ),
            (
                "residual, relu",
                8,
                "expected \"(\" after \"residual\" (a residual block needs its body: \
                 residual(layer, ...)), found \",\"",
            ),
            (
                "residual(relu, downsampel=relu)",
                15,
                "residual: unexpected keyword argument \"downsampel\"; did you mean \"downsample\"?",
            ),
            (
                "residual(relu, shortcut=relu)",
                15,
                "residual: unexpected keyword argument \"shortcut\"; residual takes: downsample, \
                 after (and its body's layers before them)",
            ),
            (
                "residual(relu, after=relu, tanh)",
                27,
                "residual: body layer follows keyword argument",
            ),
            (
                "residual(relu, after=relu, after=tanh)",
                27,
                "residual: argument \"after\" given twice",
            ),
            (
                "residual(downsample: relu, downsample=tanh)",
                27,
                "duplicate name \"downsample\" (first at position 9)",
            ),
            (
                "a: relu, (a: relu, b: tanh, a: sigmoid)",
                28,
                "duplicate name \"a\" (first at position 10)",
            ),
            ("a: relu, a: tanh", 9, "duplicate name \"a\" (first at position 0)"),
            ("a:", 2, "expected a layer name, found end of input"),
            ("a: b: relu", 4, "expected \",\" or end of input after layer, found \":\""),
            ("3: relu", 0, "expected a layer name, found 3"),
            (
                "residual(relu tanh)",
                14,
                "expected \",\" or \")\" closing the residual at position 0, found \"tanh\"",
            ),
        ];
        for (src, pos, message) in cases {
            assert_eq!(err(src), (*pos, message.to_string()), "{src}");
        }
    }

    #[test]
    fn spec_blocks_nesting_is_bounded() {
        let ok = format!("{}relu{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        parse_ok(&ok);
        let deep = format!("{}relu", "residual(".repeat(MAX_DEPTH + 1));
        assert_eq!(
            err(&deep),
            (
                9 * MAX_DEPTH,
                format!("groups and residual blocks nest deeper than {MAX_DEPTH} levels")
            )
        );
        let very_deep = "(".repeat(100_000);
        assert_eq!(err(&very_deep).0, MAX_DEPTH);
    }

    #[test]
    fn spec_blocks_unknown_layer_wins_over_its_argument_syntax() {
        let check = |name: &str, pos: usize| match name {
            "resdual" => Err(Located::new(pos, "unknown".to_string())),
            _ => Ok(()),
        };
        let e = parse("relu, resdual(conv1: relu)", &check).unwrap_err();
        assert_eq!((e.pos, e.message.as_str()), (6, "unknown"));
        let e = parse("relu, linear(conv1: relu)", &check).unwrap_err();
        assert_eq!(e.pos, 13);
    }
}
