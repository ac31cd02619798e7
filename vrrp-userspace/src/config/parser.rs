//! Generic block tree of a keepalived.conf: each statement is a keyword, its arguments and an
//! optional `{ … }` block of further statements. Knows nothing about what keywords mean.

use super::diag::{Diagnostics, Span};
use super::lexer::{Line, Token};

/// Deepest block nesting kept; keepalived's own grammar needs four levels. Deeper blocks are
/// skipped with a warning (this also bounds recursion over the tree).
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone)]
pub struct Node {
    pub keyword: Token,
    pub args: Vec<Token>,
    pub block: Option<Block>,
}

#[derive(Debug, Clone)]
pub struct Block {
    /// Where the `{` is.
    pub open: Span,
    pub children: Vec<Node>,
}

impl Node {
    pub fn span(&self) -> &Span {
        &self.keyword.span
    }

    pub fn name(&self) -> &str {
        &self.keyword.text
    }

    pub fn children(&self) -> &[Node] {
        self.block
            .as_ref()
            .map(|b| b.children.as_slice())
            .unwrap_or(&[])
    }
}

struct Frame {
    owner: Option<Node>,
    open: Span,
    children: Vec<Node>,
}

/// Builds the statement tree. Unbalanced braces are reported (as keepalived does, parsing then
/// carries on) at the brace concerned.
pub fn parse(lines: Vec<Line>, diags: &mut Diagnostics) -> Vec<Node> {
    let mut root: Vec<Node> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    // Depth of blocks skipped because they are nested too deeply.
    let mut skipping = 0usize;

    fn children<'a>(root: &'a mut Vec<Node>, stack: &'a mut [Frame]) -> &'a mut Vec<Node> {
        match stack.last_mut() {
            Some(f) => &mut f.children,
            None => root,
        }
    }

    for line in lines {
        let mut pending: Option<Node> = None;
        for tok in line.tokens {
            if skipping > 0 {
                if tok.is("{") {
                    skipping += 1;
                } else if tok.is("}") {
                    skipping -= 1;
                }
                continue;
            }
            if tok.is("{") {
                let owner = match pending.take() {
                    Some(n) => Some(n),
                    // `keyword` on one line and `{` alone on the next.
                    None => match children(&mut root, &mut stack).last() {
                        Some(last) if last.block.is_none() => children(&mut root, &mut stack).pop(),
                        _ => None,
                    },
                };
                if owner.is_none() {
                    diags.warn(&tok.span, "'{' without a keyword before it - block ignored");
                }
                if stack.len() >= MAX_DEPTH {
                    diags.warn(
                        &tok.span,
                        format!("blocks nested deeper than {MAX_DEPTH} - skipping this block"),
                    );
                    skipping = 1;
                    continue;
                }
                stack.push(Frame {
                    owner,
                    open: tok.span.clone(),
                    children: Vec::new(),
                });
            } else if tok.is("}") {
                if let Some(n) = pending.take() {
                    children(&mut root, &mut stack).push(n);
                }
                match stack.pop() {
                    None => diags.warn(&tok.span, "Extra '}' found"),
                    Some(frame) => {
                        if let Some(mut owner) = frame.owner {
                            owner.block = Some(Block {
                                open: frame.open,
                                children: frame.children,
                            });
                            children(&mut root, &mut stack).push(owner);
                        }
                    }
                }
            } else {
                match &mut pending {
                    Some(n) => n.args.push(tok),
                    None => {
                        pending = Some(Node {
                            keyword: tok,
                            args: Vec::new(),
                            block: None,
                        })
                    }
                }
            }
        }
        if let Some(n) = pending.take() {
            children(&mut root, &mut stack).push(n);
        }
    }
    while let Some(frame) = stack.pop() {
        diags.warn(&frame.open, "missing '}': this block is never closed");
        if let Some(mut owner) = frame.owner {
            owner.block = Some(Block {
                open: frame.open,
                children: frame.children,
            });
            children(&mut root, &mut stack).push(owner);
        }
    }
    root
}
