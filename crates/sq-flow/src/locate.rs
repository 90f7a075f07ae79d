//! Where a key sits in the YAML text.
//!
//! yaml_serde reports locations for syntax and shape errors only; the semantic checks of
//! validation work on the typed model, which has no spans. Rather than a second, span-aware
//! YAML parser, this module scans the text once and records the line and column of every
//! mapping key (block style, and flow style `{ a: b }` on one line), addressed by its path
//! (`steps/join/on/closed`, sequence items by index: `steps/x/choose/choices/1/key`).
//!
//! It is deliberately forgiving: it never fails, and a path it could not see (exotic YAML:
//! multi-line flow collections, complex keys) falls back to the nearest ancestor it did see,
//! so a diagnostic is at worst a few lines too high, never absent.

use std::collections::HashMap;

/// A 1-based line and column in a text file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// Key positions of one YAML document.
#[derive(Clone, Debug, Default)]
pub struct Locator {
    keys: HashMap<String, Pos>,
}

struct Frame {
    /// Column (0-based) where this node's content starts.
    indent: usize,
    /// Full path of this node.
    path: String,
    /// A sequence item (`- `) rather than a mapping key.
    item: bool,
    /// A key whose value is on the following lines (may own a compact `- ` sequence).
    opens_block: bool,
}

impl Locator {
    /// Scans `text`. Never fails.
    pub fn new(text: &str) -> Self {
        let mut keys = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut counters: HashMap<String, usize> = HashMap::new();
        // While inside a block scalar (`|`, `>`): lines indented deeper than this are text.
        let mut scalar_indent: Option<usize> = None;

        for (lineno, raw) in text.lines().enumerate() {
            let line_no = lineno + 1;
            let indent = raw.len() - raw.trim_start_matches(' ').len();
            let body = &raw[indent..];
            if let Some(si) = scalar_indent {
                if body.trim().is_empty() || indent > si {
                    continue;
                }
                scalar_indent = None;
            }
            let trimmed = body.trim_end();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if trimmed == "---" || trimmed == "..." {
                stack.clear();
                continue;
            }
            let mut col = indent;
            let mut rest = trimmed;
            // Sequence item markers, possibly several on one line (`- - a`).
            while rest == "-" || rest.starts_with("- ") {
                while let Some(top) = stack.last() {
                    if top.indent > col || (top.indent == col && (top.item || !top.opens_block)) {
                        stack.pop();
                    } else {
                        break;
                    }
                }
                let parent = stack.last().map(|f| f.path.clone()).unwrap_or_default();
                let n = counters.entry(parent.clone()).or_insert(0);
                let path = join(&parent, &n.to_string());
                *n += 1;
                keys.entry(path.clone()).or_insert(Pos {
                    line: line_no,
                    column: col + 1,
                });
                stack.push(Frame {
                    indent: col,
                    path,
                    item: true,
                    opens_block: true,
                });
                if rest == "-" {
                    rest = "";
                    break;
                }
                let after = &rest[1..];
                let spaces = after.len() - after.trim_start_matches(' ').len();
                col += 1 + spaces;
                rest = &after[spaces..];
            }
            if rest.is_empty() {
                continue;
            }
            if rest.starts_with('{') || rest.starts_with('[') {
                let base = stack.last().map(|f| f.path.clone()).unwrap_or_default();
                scan_flow(rest, col, line_no, &base, &mut keys);
                continue;
            }
            let Some((key, value, value_col)) = split_key(rest) else {
                continue;
            };
            while let Some(top) = stack.last() {
                if top.indent >= col {
                    stack.pop();
                } else {
                    break;
                }
            }
            let parent = stack.last().map(|f| f.path.clone()).unwrap_or_default();
            let path = join(&parent, &key);
            keys.entry(path.clone()).or_insert(Pos {
                line: line_no,
                column: col + 1,
            });
            let value = strip_comment(value).trim();
            let block_scalar = value.starts_with('|') || value.starts_with('>');
            if block_scalar {
                scalar_indent = Some(col);
            }
            if value.starts_with('{') || value.starts_with('[') {
                scan_flow(value, col + value_col, line_no, &path, &mut keys);
            }
            stack.push(Frame {
                indent: col,
                path,
                item: false,
                opens_block: value.is_empty(),
            });
        }
        Self { keys }
    }

    /// The position of the key at `path` (segments joined by `/`), or of its nearest ancestor
    /// that was seen; `None` only for an empty document.
    pub fn find(&self, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = self.keys.get(p) {
                return Some(*pos);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }

    /// The position of exactly this key, without falling back.
    pub fn exact(&self, path: &str) -> Option<Pos> {
        self.keys.get(path).copied()
    }
}

fn join(parent: &str, seg: &str) -> String {
    if parent.is_empty() {
        seg.to_string()
    } else {
        format!("{parent}/{seg}")
    }
}

/// Splits `key: value` (or `key:`). Returns the unquoted key, the value text and the byte
/// offset of the value within `s`.
fn split_key(s: &str) -> Option<(String, &str, usize)> {
    let bytes = s.as_bytes();
    let (key, after) = if bytes[0] == b'"' || bytes[0] == b'\'' {
        let q = bytes[0];
        let end = s[1..].find(q as char)? + 1;
        (s[1..end].to_string(), end + 1)
    } else {
        let mut i = 0;
        loop {
            let j = s[i..].find(':')? + i;
            let next = bytes.get(j + 1);
            if next.is_none() || next == Some(&b' ') || next == Some(&b'\t') {
                break (s[..j].trim_end().to_string(), j);
            }
            i = j + 1;
        }
    };
    let rest = s.get(after..)?;
    let rest = rest.strip_prefix(':')?;
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
        return None;
    }
    if key.starts_with('#') {
        return None;
    }
    let value_start = after + 1 + (rest.len() - rest.trim_start().len());
    Some((
        key,
        &s[value_start.min(s.len())..],
        value_start.min(s.len()),
    ))
}

fn strip_comment(s: &str) -> &str {
    // A comment starts at ` #` outside quotes.
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && (prev == ' ' || prev == '\t') => return &s[..i],
            None => {}
        }
        prev = c;
    }
    s
}

/// Records keys of a single-line flow collection starting at column `col0` (0-based).
fn scan_flow(s: &str, col0: usize, line: usize, base: &str, keys: &mut HashMap<String, Pos>) {
    // Stack of (path, is_mapping, next sequence index).
    let mut stack: Vec<(String, bool, usize)> = Vec::new();
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut i = 0;
    // Path of the most recent key (the parent of a nested collection that follows it).
    let mut last_key: Option<String> = None;
    let mut expect_key = false;
    while i < chars.len() {
        let (_, c) = chars[i];
        match c {
            '{' | '[' => {
                let parent = match (&last_key, stack.last_mut()) {
                    (Some(k), _) => k.clone(),
                    (None, Some((p, false, n))) => {
                        let path = join(p, &n.to_string());
                        *n += 1;
                        path
                    }
                    (None, Some((p, true, _))) => p.clone(),
                    (None, None) => base.to_string(),
                };
                stack.push((parent, c == '{', 0));
                last_key = None;
                expect_key = c == '{';
                i += 1;
            }
            '}' | ']' => {
                stack.pop();
                last_key = None;
                expect_key = false;
                i += 1;
            }
            ',' => {
                last_key = None;
                expect_key = matches!(stack.last(), Some((_, true, _)));
                i += 1;
            }
            ' ' | '\t' => i += 1,
            '#' => break,
            _ => {
                // A scalar: read it up to `:`+space, `,`, or a closing bracket.
                let start = i;
                let (text, end) = read_flow_scalar(&chars, i);
                i = end;
                let is_key = chars.get(i).map(|c| c.1) == Some(':');
                match stack.last_mut() {
                    Some((p, true, _)) if expect_key && is_key => {
                        let path = join(p, &text);
                        let col = col0 + s[..chars[start].0].chars().count();
                        keys.entry(path.clone()).or_insert(Pos {
                            line,
                            column: col + 1,
                        });
                        last_key = Some(path);
                        expect_key = false;
                        i += 1; // the ':'
                    }
                    Some((p, false, n)) => {
                        let path = join(p, &n.to_string());
                        let col = col0 + s[..chars[start].0].chars().count();
                        keys.entry(path).or_insert(Pos {
                            line,
                            column: col + 1,
                        });
                        *n += 1;
                        if is_key {
                            i += 1;
                        }
                    }
                    _ => {
                        last_key = None;
                        if is_key {
                            i += 1;
                        }
                    }
                }
            }
        }
    }
}

fn read_flow_scalar(chars: &[(usize, char)], mut i: usize) -> (String, usize) {
    let mut out = String::new();
    if let Some(&(_, q)) = chars.get(i)
        && (q == '"' || q == '\'')
    {
        i += 1;
        while let Some(&(_, c)) = chars.get(i) {
            i += 1;
            if c == q {
                break;
            }
            out.push(c);
        }
        return (out, i);
    }
    while let Some(&(_, c)) = chars.get(i) {
        if c == ',' || c == '}' || c == ']' || c == '{' || c == '[' {
            break;
        }
        if c == ':' {
            let next = chars.get(i + 1).map(|c| c.1);
            if matches!(next, None | Some(' ') | Some(',') | Some('}') | Some(']')) {
                break;
            }
        }
        out.push(c);
        i += 1;
    }
    (out.trim_end().to_string(), i)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
flow: join-queue
spec: 1
steps:
  pick_service:
    choose:
      prompt: pick-service   # a comment: here
      from: services
    timeout: { after: 2m, next: still_there }
  join:
    do: queue.join
    with: { service: $choice }
    on: { ok: issued, closed: service_closed }
  still_there:
    choose:
      prompt: still-there
      choices:
        - { key: yes, label: choice-yes }
        - key: no
          label: choice-no
    note: |
      text: not a key
    next: { yes: pick_service, no: bye }
";

    #[test]
    fn finds_block_and_flow_keys() {
        let l = Locator::new(DOC);
        let at = |p: &str| l.exact(p).map(|p| (p.line, p.column));
        assert_eq!(at("flow"), Some((1, 1)));
        assert_eq!(at("steps/join"), Some((9, 3)));
        assert_eq!(at("steps/join/do"), Some((10, 5)));
        assert_eq!(at("steps/join/on"), Some((12, 5)));
        assert_eq!(at("steps/join/on/closed"), Some((12, 23)));
        assert_eq!(at("steps/pick_service/timeout/next"), Some((8, 27)));
        assert_eq!(at("steps/still_there/choose/choices/0/key"), Some((17, 13)));
        assert_eq!(at("steps/still_there/choose/choices/1"), Some((18, 9)));
        assert_eq!(
            at("steps/still_there/choose/choices/1/label"),
            Some((19, 11))
        );
        assert_eq!(at("steps/still_there/next/no"), Some((22, 32)));
        assert_eq!(at("steps/still_there/note/text"), None);
        assert_eq!(at("steps/still_there/next"), Some((22, 5)));
        // Fallback to the nearest ancestor.
        assert_eq!(l.find("steps/join/on/duplicate").map(|p| p.line), Some(12));
    }

    #[test]
    fn compact_sequences_and_quoted_keys() {
        let doc = "a:\n- x: 1\n- \"y z\": 2\nb: 3\n";
        let l = Locator::new(doc);
        assert_eq!(l.exact("a/0/x"), Some(Pos { line: 2, column: 3 }));
        assert_eq!(l.exact("a/1/y z"), Some(Pos { line: 3, column: 3 }));
        assert_eq!(l.exact("b"), Some(Pos { line: 4, column: 1 }));
    }
}
