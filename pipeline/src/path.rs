//! JSONPath over [`Value`]s, parsed once into a compiled [`Path`].
//!
//! Every path is rooted: `$` selects the current document, `$$` the iteration subject.
//! Supported syntax:
//!
//! - child selectors: `$.a.b`, `$["a.b"]`, `$['a.b']`, unions `$['a','b']`;
//! - indexes (negative ones count from the end): `$.a[0]`, `$.a[-1]`, unions `$.a[0,2]`
//!   and slices `$.a[1:3]`;
//! - wildcards: `$.a[*].b`, `$.a.*`;
//! - recursive descent: `$..name`;
//! - filters: `$.conds[?(@.type == 'Ready' && @.status != 'False')]`, with `==`, `!=`,
//!   `<`, `<=`, `>`, `>=`, `&&`, `||`, `!`, parentheses and existence tests `[?(@.x)]`.
//!
//! A dot always traverses, so keys containing dots or slashes need the bracket form.
//! [`Path::get`] returns the single match, a list when several nodes match, and
//! [`PathError::FieldNotFound`] when nothing does (a key whose value is `null` *is* found).
//!
//! ```
//! use deltaloop_pipeline::{Path, Value};
//! let doc = Value::from_json_str(r#"{"spec": {"ports": [{"port": 80}, {"port": 9090}]}}"#)?;
//! let path = Path::parse("$.spec.ports[1].port")?;
//! assert_eq!(path.get(&doc)?, Value::Int(9090));
//! let all = Path::parse("$.spec.ports[*].port")?;
//! assert_eq!(all.get(&doc)?, Value::from_json_str("[80, 9090]")?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use crate::value::{Object, Str, Value};

mod parse;

/// Which value a path is rooted at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Root {
    /// `$`: the current document.
    Document,
    /// `$$`: the iteration subject (set by `@map`, `@filter`, `@sortBy`).
    Subject,
}

/// An error parsing or applying a path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The text is not a valid JSONPath.
    #[error("invalid jsonpath {path:?}: {reason}")]
    Parse {
        /// The offending path text.
        path: String,
        /// What the parser expected.
        reason: String,
    },
    /// The path selects nothing.
    #[error("field not found: {path}")]
    FieldNotFound {
        /// The path text.
        path: String,
    },
    /// Setting or removing the root itself was requested.
    #[error("cannot set or remove the root of path {path:?}")]
    Root {
        /// The path text.
        path: String,
    },
    /// A value on the way is not a container the next segment can write into.
    #[error("cannot set {path:?}: {reason}")]
    Set {
        /// The path text.
        path: String,
        /// Why the write failed.
        reason: String,
    },
}

/// One selector inside a segment.
#[derive(Clone, Debug)]
pub(crate) enum Selector {
    Key(Str),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Filter(Arc<Filter>),
}

/// A path segment.
#[derive(Clone, Debug)]
pub(crate) enum Segment {
    /// `.key`, `[0]`, `[*]`, `[?(...)]`.
    Child(Selector),
    /// `['a','b']`, `[0,1]`.
    Union(Vec<Selector>),
    /// `..key`, `..*`, `..[0]`.
    Descent(Selector),
}

/// A filter expression `?(...)`.
#[derive(Clone, Debug)]
pub(crate) enum Filter {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    Not(Box<Filter>),
    Cmp(Operand, CmpOp, Operand),
    Exists(Operand),
}

/// A filter comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A filter operand.
#[derive(Clone, Debug)]
pub(crate) enum Operand {
    /// `@...`: relative to the candidate node.
    Current(Vec<Segment>),
    /// `$...`: relative to the path's root value.
    Root(Vec<Segment>),
    /// A literal.
    Literal(Value),
}

/// A compiled, rooted JSONPath.
#[derive(Clone)]
pub struct Path {
    text: Str,
    root: Root,
    segments: Arc<[Segment]>,
    /// Per segment, where the last lookup found its key in a map (see
    /// [`Object::get_hinted`]); shared by the path's clones.
    hints: Arc<[AtomicU32]>,
    /// Whether every segment is a plain key or index (the fast path).
    simple: bool,
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Path({:?})", &*self.text)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for Path {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Path {}

impl std::str::FromStr for Path {
    type Err = PathError;
    fn from_str(s: &str) -> Result<Path, PathError> {
        Path::parse(s)
    }
}

/// Appends the child selector of key `k`: `.k` when the dot form reads it back (a name of
/// letters, digits, `_` and `-`), else `["k"]` with `\` and `"` escaped.
fn push_key(text: &mut String, k: &str) {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        text.push('.');
        text.push_str(k);
        return;
    }
    text.push_str("[\"");
    for c in k.chars() {
        if c == '\\' || c == '"' {
            text.push('\\');
        }
        text.push(c);
    }
    text.push_str("\"]");
}

impl Path {
    /// Parses a `$`- or `$$`-rooted JSONPath.
    ///
    /// # Errors
    ///
    /// Returns [`PathError::Parse`] for malformed paths (`"$.a["`, `"$.a.b/c"`) and for
    /// paths that are not rooted (a bare field name such as `"a.b"`).
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let (root, segments) = parse::parse_path(text).map_err(|reason| PathError::Parse {
            path: text.to_owned(),
            reason,
        })?;
        let simple = segments.iter().all(|s| {
            matches!(
                s,
                Segment::Child(Selector::Key(_)) | Segment::Child(Selector::Index(_))
            )
        });
        Ok(Path {
            text: Arc::from(text),
            root,
            hints: segments.iter().map(|_| AtomicU32::new(0)).collect(),
            segments: segments.into(),
            simple,
        })
    }

    /// The path text as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The root the path reads from.
    #[must_use]
    pub fn root(&self) -> Root {
        self.root
    }

    /// Whether the path is the bare root (`$` or `$$`).
    #[must_use]
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The field a document path of exactly one key reads: `service` for `$.service`;
    /// `None` for every other path (deeper, `$$`-rooted, the bare root, an index, a
    /// wildcard, …).
    #[must_use]
    pub(crate) fn single_field(&self) -> Option<&str> {
        match &*self.segments {
            [Segment::Child(Selector::Key(k))] if self.simple && self.root == Root::Document => {
                Some(k)
            }
            _ => None,
        }
    }

    /// The top-level field a simple document path reads under: `metadata` for
    /// `$.metadata.labels.app`. `None` for `$$` paths, the bare root, a first segment that is
    /// not a key, and paths with wildcards, slices, filters, unions or descents (whose reads
    /// and failures are not those of plain lookups).
    #[must_use]
    pub(crate) fn simple_top_field(&self) -> Option<&str> {
        if !self.simple || self.root != Root::Document {
            return None;
        }
        match self.segments.first()? {
            Segment::Child(Selector::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// The path below its top-level field, for reading the document that field holds:
    /// `$.status.phase` for `$.Pod.status.phase`, `$["x.y"][0]` for `$.Pod["x.y"][0]`.
    /// `None` unless the path is a simple document path (see
    /// [`simple_top_field`](Self::simple_top_field)) with at least one segment after the
    /// field.
    #[must_use]
    pub(crate) fn below_top_field(&self) -> Option<Path> {
        self.simple_top_field()?;
        let rest = self.segments.get(1..).filter(|rest| !rest.is_empty())?;
        let mut text = String::from("$");
        for segment in rest {
            match segment {
                Segment::Child(Selector::Key(k)) => push_key(&mut text, k),
                Segment::Child(Selector::Index(i)) => text.push_str(&format!("[{i}]")),
                _ => return None,
            }
        }
        Path::parse(&text).ok()
    }

    /// [`get`](Self::get) without a clone, for simple paths (plain keys and indexes, which
    /// select at most one node): the node, or [`PathError::FieldNotFound`]. `None` for
    /// other paths.
    pub(crate) fn get_ref<'v>(&self, value: &'v Value) -> Option<Result<&'v Value, PathError>> {
        self.simple
            .then(|| self.get_simple(value).ok_or_else(|| self.not_found()))
    }

    /// Selects from `value` (which plays the root): the single match, a list of all
    /// matches when there are several, or [`PathError::FieldNotFound`].
    ///
    /// # Errors
    ///
    /// [`PathError::FieldNotFound`] when the path selects nothing.
    pub fn get(&self, value: &Value) -> Result<Value, PathError> {
        if self.simple {
            return self
                .get_simple(value)
                .cloned()
                .ok_or_else(|| self.not_found());
        }
        let matches = self.select(value);
        match matches.len() {
            0 => Err(self.not_found()),
            1 => Ok(matches.first().map(|v| (*v).clone()).unwrap_or_default()),
            _ => Ok(Value::list(matches.into_iter().cloned().collect())),
        }
    }

    /// Whether the path selects at least one node of `value`.
    #[must_use]
    pub fn exists(&self, value: &Value) -> bool {
        if self.simple {
            self.get_simple(value).is_some()
        } else {
            !self.select(value).is_empty()
        }
    }

    /// All nodes the path selects, in document order.
    #[must_use]
    pub fn select<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        let mut cur = vec![value];
        for seg in self.segments.iter() {
            let mut next = Vec::new();
            for v in cur {
                apply_segment(seg, v, value, &mut next);
            }
            if next.is_empty() {
                return next;
            }
            cur = next;
        }
        cur
    }

    fn get_simple<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        let mut cur = value;
        for (seg, hint) in self.segments.iter().zip(self.hints.iter()) {
            cur = match seg {
                Segment::Child(Selector::Key(k)) => cur.as_map()?.get_hinted(k, hint)?,
                Segment::Child(Selector::Index(i)) => {
                    let l = cur.as_list()?;
                    l.get(resolve_index(*i, l.len())?)?
                }
                _ => return None,
            };
        }
        Some(cur)
    }

    fn not_found(&self) -> PathError {
        PathError::FieldNotFound {
            path: self.text.to_string(),
        }
    }

    /// Writes `new` at every node the path selects, creating missing intermediate maps.
    ///
    /// ```
    /// use deltaloop_pipeline::{Path, Value};
    /// let mut doc = Value::from_json_str("{}")?;
    /// Path::parse("$.metadata.labels.app")?.set(&mut doc, Value::from("web"))?;
    /// assert_eq!(doc, Value::from_json_str(r#"{"metadata":{"labels":{"app":"web"}}}"#)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`PathError::Root`] for the bare root; [`PathError::Set`] when a value on the way
    /// is a scalar or a list index is out of range.
    pub fn set(&self, target: &mut Value, new: Value) -> Result<(), PathError> {
        if self.segments.is_empty() {
            return Err(PathError::Root {
                path: self.text.to_string(),
            });
        }
        let root_copy = if self.simple {
            None
        } else {
            Some(target.clone())
        };
        set_at(&self.segments, target, &new, root_copy.as_ref()).map_err(|reason| PathError::Set {
            path: self.text.to_string(),
            reason,
        })
    }

    /// Removes the node a simple path (keys and indexes only) selects and returns it.
    ///
    /// # Errors
    ///
    /// [`PathError::Root`] for the bare root, [`PathError::FieldNotFound`] when nothing is
    /// there, [`PathError::Set`] for wildcard or filter paths.
    pub fn remove(&self, target: &mut Value) -> Result<Value, PathError> {
        let Some((last, init)) = self.segments.split_last() else {
            return Err(PathError::Root {
                path: self.text.to_string(),
            });
        };
        if !self.simple {
            return Err(PathError::Set {
                path: self.text.to_string(),
                reason: "only key and index paths can be removed".to_owned(),
            });
        }
        remove_at(init, last, target).ok_or_else(|| self.not_found())
    }
}

fn resolve_index(i: i64, len: usize) -> Option<usize> {
    if i >= 0 {
        usize::try_from(i).ok().filter(|&u| u < len)
    } else {
        let back = usize::try_from(i.unsigned_abs()).ok()?;
        len.checked_sub(back)
    }
}

fn apply_selector<'v>(sel: &Selector, v: &'v Value, root: &'v Value, out: &mut Vec<&'v Value>) {
    match sel {
        Selector::Key(k) => {
            if let Some(x) = v.as_map().and_then(|m| m.get(k)) {
                out.push(x);
            }
        }
        Selector::Index(i) => {
            if let Some(l) = v.as_list()
                && let Some(x) = resolve_index(*i, l.len()).and_then(|u| l.get(u))
            {
                out.push(x);
            }
        }
        Selector::Wildcard => match v {
            Value::List(l) => out.extend(l.iter()),
            Value::Map(m) => out.extend(m.values()),
            _ => {}
        },
        Selector::Slice(start, end, step) => {
            if let Some(l) = v.as_list() {
                for u in slice_indexes(*start, *end, *step, l.len()) {
                    if let Some(x) = l.get(u) {
                        out.push(x);
                    }
                }
            }
        }
        Selector::Filter(f) => {
            let candidates: Box<dyn Iterator<Item = &'v Value>> = match v {
                Value::List(l) => Box::new(l.iter()),
                Value::Map(m) => Box::new(m.values()),
                _ => return,
            };
            for c in candidates {
                if eval_filter(f, c, root) {
                    out.push(c);
                }
            }
        }
    }
}

fn slice_indexes(
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
    len: usize,
) -> Vec<usize> {
    let n = i64::try_from(len).unwrap_or(i64::MAX);
    let norm = |x: i64| if x < 0 { (n + x).max(0) } else { x.min(n) };
    let step = step.unwrap_or(1);
    let mut out = Vec::new();
    if step > 0 {
        let (mut i, e) = (norm(start.unwrap_or(0)), norm(end.unwrap_or(n)));
        while i < e {
            out.extend(usize::try_from(i).ok());
            i += step;
        }
    } else if step < 0 {
        let mut i = start.map_or(n - 1, |s| if s < 0 { n + s } else { s.min(n - 1) });
        let e = end.map_or(-1, |x| if x < 0 { (n + x).max(-1) } else { x });
        while i > e && i >= 0 {
            out.extend(usize::try_from(i).ok());
            i += step;
        }
    }
    out
}

fn apply_segment<'v>(seg: &Segment, v: &'v Value, root: &'v Value, out: &mut Vec<&'v Value>) {
    match seg {
        Segment::Child(sel) => apply_selector(sel, v, root, out),
        Segment::Union(sels) => {
            for s in sels {
                apply_selector(s, v, root, out);
            }
        }
        Segment::Descent(sel) => descend(sel, v, root, out),
    }
}

fn descend<'v>(sel: &Selector, v: &'v Value, root: &'v Value, out: &mut Vec<&'v Value>) {
    apply_selector(sel, v, root, out);
    match v {
        Value::List(l) => l.iter().for_each(|c| descend(sel, c, root, out)),
        Value::Map(m) => m.values().for_each(|c| descend(sel, c, root, out)),
        _ => {}
    }
}

fn select_rel<'v>(segs: &[Segment], v: &'v Value, root: &'v Value) -> Vec<&'v Value> {
    let mut cur = vec![v];
    for seg in segs {
        let mut next = Vec::new();
        for x in cur {
            apply_segment(seg, x, root, &mut next);
        }
        cur = next;
    }
    cur
}

fn operand_value(op: &Operand, cur: &Value, root: &Value) -> Option<Value> {
    let (segs, base) = match op {
        Operand::Literal(v) => return Some(v.clone()),
        Operand::Current(s) => (s, cur),
        Operand::Root(s) => (s, root),
    };
    let m = select_rel(segs, base, root);
    match m.len() {
        0 => None,
        1 => m.first().map(|v| (*v).clone()),
        _ => Some(Value::list(m.into_iter().cloned().collect())),
    }
}

fn eval_filter(f: &Filter, cur: &Value, root: &Value) -> bool {
    match f {
        Filter::Or(fs) => fs.iter().any(|f| eval_filter(f, cur, root)),
        Filter::And(fs) => fs.iter().all(|f| eval_filter(f, cur, root)),
        Filter::Not(f) => !eval_filter(f, cur, root),
        Filter::Exists(op) => match operand_value(op, cur, root) {
            None | Some(Value::Bool(false)) => false,
            Some(_) => true,
        },
        Filter::Cmp(a, op, b) => {
            let a = operand_value(a, cur, root).unwrap_or(Value::Null);
            let b = operand_value(b, cur, root).unwrap_or(Value::Null);
            compare(&a, *op, &b)
        }
    }
}

fn compare(a: &Value, op: CmpOp, b: &Value) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(x, y)| x.partial_cmp(&y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    };
    match op {
        CmpOp::Eq => ord.map_or_else(|| a.deep_eq(b), Ordering::is_eq),
        CmpOp::Ne => !ord.map_or_else(|| a.deep_eq(b), Ordering::is_eq),
        CmpOp::Lt => ord.is_some_and(Ordering::is_lt),
        CmpOp::Le => ord.is_some_and(Ordering::is_le),
        CmpOp::Gt => ord.is_some_and(Ordering::is_gt),
        CmpOp::Ge => ord.is_some_and(Ordering::is_ge),
    }
}

/// Writes `new` at every node `segs` selects under `target`. `root` is a snapshot of the
/// root for filters that reference `$` (only needed for non-simple paths).
fn set_at(
    segs: &[Segment],
    target: &mut Value,
    new: &Value,
    root: Option<&Value>,
) -> Result<(), String> {
    let Some((seg, rest)) = segs.split_first() else {
        *target = new.clone();
        return Ok(());
    };
    match seg {
        Segment::Child(Selector::Key(k)) => {
            if target.is_null() {
                *target = Value::Map(Object::new());
            }
            let Value::Map(m) = target else {
                return Err(format!("cannot set key {k:?} in a {}", target.type_name()));
            };
            if rest.is_empty() {
                m.insert(k.clone(), new.clone());
                return Ok(());
            }
            if !m.contains_key(k) {
                m.insert(k.clone(), Value::Null);
            }
            m.modify(k, |child| set_at(rest, child, new, root))
                .unwrap_or(Ok(()))
        }
        Segment::Child(Selector::Index(i)) => {
            let Value::List(l) = target else {
                return Err(format!("cannot set index {i} in a {}", target.type_name()));
            };
            let len = l.len();
            let u = resolve_index(*i, len).ok_or_else(|| format!("index {i} out of range"))?;
            let l = Arc::make_mut(l);
            match l.get_mut(u) {
                Some(child) => set_at(rest, child, new, root),
                None => Err(format!("index {i} out of range")),
            }
        }
        Segment::Child(sel) => set_selected(std::slice::from_ref(sel), rest, target, new, root),
        Segment::Union(sels) => set_selected(sels, rest, target, new, root),
        Segment::Descent(_) => Err("recursive descent cannot be written".to_owned()),
    }
}

/// Sets through wildcard / slice / filter / union selectors: every existing match.
fn set_selected(
    sels: &[Selector],
    rest: &[Segment],
    target: &mut Value,
    new: &Value,
    root: Option<&Value>,
) -> Result<(), String> {
    let empty = Value::Null;
    let root_v = root.unwrap_or(&empty);
    for sel in sels {
        match (sel, &mut *target) {
            (Selector::Key(k), _) => {
                let seg = [Segment::Child(Selector::Key(k.clone()))];
                let path: Vec<Segment> = seg.into_iter().chain(rest.iter().cloned()).collect();
                set_at(&path, target, new, root)?;
            }
            (Selector::Index(i), _) => {
                let seg = [Segment::Child(Selector::Index(*i))];
                let path: Vec<Segment> = seg.into_iter().chain(rest.iter().cloned()).collect();
                set_at(&path, target, new, root)?;
            }
            (Selector::Wildcard, Value::List(l)) => {
                for child in Arc::make_mut(l).iter_mut() {
                    set_at(rest, child, new, root)?;
                }
            }
            (Selector::Wildcard, Value::Map(m)) => {
                let keys: Vec<Str> = m.keys().cloned().collect();
                for k in keys {
                    m.modify(&k, |child| set_at(rest, child, new, root))
                        .unwrap_or(Ok(()))?;
                }
            }
            (Selector::Slice(a, b, c), Value::List(l)) => {
                let idx = slice_indexes(*a, *b, *c, l.len());
                let l = Arc::make_mut(l);
                for u in idx {
                    if let Some(child) = l.get_mut(u) {
                        set_at(rest, child, new, root)?;
                    }
                }
            }
            (Selector::Filter(f), Value::List(l)) => {
                let l = Arc::make_mut(l);
                for child in l.iter_mut() {
                    if eval_filter(f, child, root_v) {
                        set_at(rest, child, new, root)?;
                    }
                }
            }
            (Selector::Filter(f), Value::Map(m)) => {
                let keys: Vec<Str> = m
                    .iter()
                    .filter(|(_, v)| eval_filter(f, v, root_v))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in keys {
                    m.modify(&k, |child| set_at(rest, child, new, root))
                        .unwrap_or(Ok(()))?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn remove_at(init: &[Segment], last: &Segment, target: &mut Value) -> Option<Value> {
    let Some((seg, rest)) = init.split_first() else {
        return match (last, target) {
            (Segment::Child(Selector::Key(k)), Value::Map(m)) => m.remove(k),
            (Segment::Child(Selector::Index(i)), Value::List(l)) => {
                let u = resolve_index(*i, l.len())?;
                Some(Arc::make_mut(l).remove(u))
            }
            _ => None,
        };
    };
    match (seg, target) {
        (Segment::Child(Selector::Key(k)), Value::Map(m)) => {
            if !m.contains_key(k) {
                return None;
            }
            m.modify(k, |child| remove_at(rest, last, child)).flatten()
        }
        (Segment::Child(Selector::Index(i)), Value::List(l)) => {
            let u = resolve_index(*i, l.len())?;
            remove_at(rest, last, Arc::make_mut(l).get_mut(u)?)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
