//! Validation and scheduling: ports, arity and cycles through delays only.

use std::collections::{BTreeMap, BTreeSet};

use crate::circuit::Circuit;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::operator::Operator;

/// Validates `c` and returns its schedule (Kahn's algorithm, ties broken by id).
pub(super) fn validate<T: Data>(c: &Circuit<T>) -> Result<Vec<String>> {
    check_ports(c)?;
    schedule(c)
}

fn check_ports<T: Data>(c: &Circuit<T>) -> Result<()> {
    let mut fed: BTreeMap<(&str, usize), &str> = BTreeMap::new();
    for e in c.edges() {
        let Some(op) = c.node(&e.to) else {
            return Err(c.unknown(&e.to));
        };
        if !c.contains(&e.from) {
            return Err(c.unknown(&e.from));
        }
        match op.arity() {
            None => continue, // outputs sum any number of edges
            Some(arity) if e.port >= arity => {
                return Err(Error::PortOutOfRange {
                    circuit: c.name().to_string(),
                    node: e.to.clone(),
                    kind: op.kind(),
                    arity,
                    port: e.port,
                    from: e.from.clone(),
                });
            }
            Some(_) => {}
        }
        if matches!(op, Operator::Delay) && matches!(c.node(&e.from), Some(Operator::Integrate)) {
            return Err(Error::IntegrateIntoDelay {
                circuit: c.name().to_string(),
                from: e.from.clone(),
                to: e.to.clone(),
            });
        }
        if let Some(first) = fed.insert((e.to.as_str(), e.port), e.from.as_str()) {
            return Err(Error::DuplicatePort {
                circuit: c.name().to_string(),
                node: e.to.clone(),
                kind: op.kind(),
                port: e.port,
                first: first.to_string(),
                second: e.from.clone(),
            });
        }
    }
    for (id, op) in c.nodes() {
        for port in 0..op.arity().unwrap_or(0) {
            if !fed.contains_key(&(id, port)) {
                return Err(Error::DanglingPort {
                    circuit: c.name().to_string(),
                    node: id.to_string(),
                    kind: op.kind(),
                    port,
                });
            }
        }
    }
    Ok(())
}

fn schedule<T: Data>(c: &Circuit<T>) -> Result<Vec<String>> {
    let mut indegree: BTreeMap<&str, usize> = c.nodes().map(|(id, _)| (id, 0)).collect();
    let mut succ: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in c.edges() {
        if matches!(c.node(&e.to), Some(Operator::Delay)) {
            continue; // read at the end of the step: not an ordering constraint
        }
        *indegree.entry(e.to.as_str()).or_default() += 1;
        succ.entry(e.from.as_str()).or_default().push(e.to.as_str());
    }
    let mut ready: BTreeSet<&str> = indegree
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(id, _)| *id)
        .collect();
    let mut order = Vec::with_capacity(indegree.len());
    while let Some(id) = ready.pop_first() {
        order.push(id.to_string());
        for next in succ.get(id).map(Vec::as_slice).unwrap_or_default() {
            if let Some(d) = indegree.get_mut(next) {
                *d -= 1;
                if *d == 0 {
                    ready.insert(next);
                }
            }
        }
    }
    if order.len() < indegree.len() {
        let scheduled: BTreeSet<&str> = order.iter().map(String::as_str).collect();
        let nodes = indegree
            .keys()
            .filter(|id| !scheduled.contains(*id))
            .map(|id| (*id).to_string())
            .collect();
        return Err(Error::Cycle {
            circuit: c.name().to_string(),
            nodes,
        });
    }
    Ok(order)
}
