//! Rendering circuits as Graphviz DOT and Mermaid flowcharts.
//!
//! Both formats draw one box per node, labelled with its id and a description of its
//! operator, and one arrow per edge, labelled with the port when the target has several.
//! Edges into delays (feedback) are dashed.

use std::fmt::Write as _;

use crate::circuit::Circuit;
use crate::data::Data;
use crate::operator::Operator;

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn multi_port<T: Data>(c: &Circuit<T>, id: &str) -> bool {
    c.node(id).and_then(Operator::arity).is_some_and(|a| a > 1)
}

/// The circuit as a Graphviz DOT digraph.
///
/// ```
/// use deltaloop_engine::{Circuit, to_dot};
/// let mut c: Circuit<i64> = Circuit::new("c");
/// let x = c.input("x")?;
/// let d = c.distinct(&x)?;
/// c.output("y", &d)?;
/// let dot = to_dot(&c);
/// assert!(dot.starts_with("digraph \"c\" {"));
/// assert!(dot.contains("\"input_x\" -> \"distinct_1\""));
/// # Ok::<(), deltaloop_engine::Error>(())
/// ```
#[must_use]
pub fn to_dot<T: Data>(c: &Circuit<T>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "digraph \"{}\" {{", escape(c.name()));
    let _ = writeln!(s, "  rankdir=LR;");
    for (id, op) in c.nodes() {
        let shape = match op {
            Operator::Input | Operator::Output => "ellipse",
            Operator::Delay => "diamond",
            _ => "box",
        };
        let _ = writeln!(
            s,
            "  \"{}\" [shape={shape}, label=\"{}\\n{}\"];",
            escape(id),
            escape(id),
            escape(&op.describe())
        );
    }
    for e in c.edges() {
        let mut attrs = Vec::new();
        if multi_port(c, &e.to) {
            attrs.push(format!("label=\"{}\"", e.port));
        }
        if matches!(c.node(&e.to), Some(Operator::Delay)) {
            attrs.push("style=dashed".to_string());
        }
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attrs.join(", "))
        };
        let _ = writeln!(
            s,
            "  \"{}\" -> \"{}\"{attrs};",
            escape(&e.from),
            escape(&e.to)
        );
    }
    s.push_str("}\n");
    s
}

/// The circuit as a Mermaid flowchart.
///
/// ```
/// use deltaloop_engine::{Circuit, to_mermaid};
/// let mut c: Circuit<i64> = Circuit::new("c");
/// let x = c.input("x")?;
/// c.output("y", &x)?;
/// let m = to_mermaid(&c);
/// assert!(m.starts_with("flowchart LR"));
/// assert!(m.contains("n0 --> n1"));
/// # Ok::<(), deltaloop_engine::Error>(())
/// ```
#[must_use]
pub fn to_mermaid<T: Data>(c: &Circuit<T>) -> String {
    let ids: Vec<&str> = c.nodes().map(|(id, _)| id).collect();
    let index = |id: &str| ids.iter().position(|x| *x == id).unwrap_or(usize::MAX);
    let mut s = String::from("flowchart LR\n");
    for (i, (id, op)) in c.nodes().enumerate() {
        let label = format!("{id}<br/>{}", op.describe()).replace('"', "#quot;");
        let (open, close) = match op {
            Operator::Input | Operator::Output => ("([", "])"),
            Operator::Delay => ("{{", "}}"),
            _ => ("[", "]"),
        };
        let _ = writeln!(s, "  n{i}{open}\"{label}\"{close}");
    }
    for e in c.edges() {
        let arrow = if matches!(c.node(&e.to), Some(Operator::Delay)) {
            "-.->"
        } else {
            "-->"
        };
        let port = if multi_port(c, &e.to) {
            format!("|{}|", e.port)
        } else {
            String::new()
        };
        let _ = writeln!(s, "  n{} {arrow}{port} n{}", index(&e.from), index(&e.to));
    }
    s
}
