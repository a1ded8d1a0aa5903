//! An Endpoints-style circuit on the engine alone: pods ⋈ services on the service name,
//! running pods only, IPs collected per service; incrementalized and fed one event at a time.
//! Run: `cargo run -p examples --example incremental_join`.
#![allow(clippy::print_stdout)]

use std::sync::Arc;

use deltaloop_engine::{
    Circuit, Collect, CombineFn, Executor, FilterFn, GroupFn, GroupSpec, Incrementalizer, JoinSpec,
    KeyFn, MapFn, Transform, to_mermaid, zset,
};

/// A row: a pod `(name, service, running, ip)`, a service `(name, "", _, "")`, or an
/// endpoints view `(service, ips)` encoded in the same tuple for brevity.
type Row = (&'static str, &'static str, bool, String);

fn main() -> Result<(), deltaloop_engine::Error> {
    let mut c: Circuit<Row> = Circuit::new("endpoints");
    let pods = c.input("pods")?;
    let services = c.input("services")?;
    let joined = c.equi_join(
        &pods,
        &services,
        JoinSpec {
            left_key: KeyFn::new("pod.service", |p: &Row| {
                Ok(Some((p.1, "", false, String::new())))
            }),
            right_key: KeyFn::new("service.name", |s: &Row| {
                Ok(Some((s.0, "", false, String::new())))
            }),
            combine: CombineFn::new("pod", |p: &Row, _s: &Row| Ok(p.clone())),
            residual: None,
        },
    )?;
    let running = c.filter(&joined, FilterFn::new("running", |p: &Row| Ok(p.2)))?;
    let ips = c.map(
        &running,
        MapFn::new("(service, ip)", |p: &Row| {
            Ok(Some((p.1, "", true, p.3.clone())))
        }),
    )?;
    let grouped = c.group_by(
        &ips,
        GroupSpec::new(
            GroupFn::new("by service", |r: &Row| {
                Ok(((r.0, "", false, String::new()), r.clone()))
            }),
            Arc::new(Collect::new(false, |key: &Row, values, _| {
                let ips: Vec<&str> = values.iter().map(|v| v.3.as_str()).collect();
                Ok((key.0, "", true, ips.join(",")))
            })),
        ),
    )?;
    c.output("endpoints", &grouped)?;

    let incremental = Incrementalizer.apply(&c)?;
    println!("{}", to_mermaid(&incremental));
    let mut exec = Executor::new(incremental)?;
    exec.feed("services", zset! { ("web", "", false, String::new()) => 1 })?;
    exec.feed(
        "pods",
        zset! {
            ("web-1", "web", true, "10.0.0.1".to_string()) => 1,
            ("web-2", "web", false, "10.0.0.2".to_string()) => 1,
        },
    )?;
    exec.step()?;
    println!("after load:      {:?}", exec.output("endpoints")?);
    // web-2 becomes Running: retract the old pod, insert the new one.
    exec.feed(
        "pods",
        zset! {
            ("web-2", "web", false, "10.0.0.2".to_string()) => -1,
            ("web-2", "web", true, "10.0.0.2".to_string()) => 1,
        },
    )?;
    exec.step()?;
    println!("after web-2 up:  {:?}", exec.output("endpoints")?);
    println!("endpoints now:   {:?}", exec.snapshot("endpoints")?);
    Ok(())
}
