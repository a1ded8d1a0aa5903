//! Z-sets as snapshots and as changes. Run: `cargo run -p examples --example zset_basics`.
#![allow(clippy::print_stdout)]

use deltaloop_engine::{ZSet, zset};

fn main() {
    let pods: ZSet<&str> = zset! { "web-1" => 1, "web-2" => 1 };
    let change = zset! { "web-2" => -1, "web-3" => 1 };
    let next = pods.plus(&change);
    println!("state:  {pods:?}");
    println!("change: {change:?}");
    println!("next:   {next:?}");
    println!("diff:   {:?}", next.minus(&pods));
    println!(
        "set of {{a: 2, b: -1}}: {:?}",
        zset! { "a" => 2, "b" => -1 }.distinct()
    );
}
