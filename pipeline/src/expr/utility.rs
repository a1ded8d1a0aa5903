//! Utility operators: `@noop`, `@subject`, `@hash`, `@rnd`, `@concat`, `@abs`, `@floor`,
//! `@ceil`, `@isnil` (alias `@isnull`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::coerce::{as_float, as_string};
use super::{EvalContext, Node, Op, eval_arg};
use crate::error::EvalError;
use crate::value::{Value, canonical_json};

pub(super) fn eval(op: Op, args: &[Node], ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    let name = op.name();
    let err = |m: String| EvalError::op(name, m);
    match op {
        Op::Noop => Ok(Value::Null),
        Op::Subject => Ok(ctx.current_subject().unwrap_or(Value::Null)),
        Op::Hash => Ok(Value::from(hash_hex(&eval_arg(args, 0, ctx)?))),
        Op::Rnd => {
            let lo = eval_arg(args, 0, ctx)?;
            let hi = eval_arg(args, 1, ctx)?;
            if let (Value::Int(a), Value::Int(b)) = (&lo, &hi) {
                if a > b {
                    return Err(err("min > max".to_owned()));
                }
                let span = b.wrapping_sub(*a).cast_unsigned().wrapping_add(1);
                let r = if span == 0 {
                    next_random()
                } else {
                    next_random() % span
                };
                return Ok(Value::Int(a.wrapping_add(r.cast_signed())));
            }
            let a = as_float(&lo).map_err(|m| err(format!("min: {m}")))?;
            let b = as_float(&hi).map_err(|m| err(format!("max: {m}")))?;
            if a > b {
                return Err(err("min > max".to_owned()));
            }
            #[allow(clippy::cast_precision_loss)]
            let unit = (next_random() >> 11) as f64 / (1u64 << 53) as f64;
            Ok(Value::Float(a + unit * (b - a)))
        }
        Op::Concat => {
            let mut out = String::new();
            for a in args {
                out.push_str(&as_string(&a.eval(ctx)?));
            }
            Ok(Value::from(out))
        }
        Op::Abs => match eval_arg(args, 0, ctx)? {
            Value::Int(i) => Ok(Value::Int(i.wrapping_abs())),
            other => as_float(&other).map(|f| Value::Float(f.abs())).map_err(err),
        },
        Op::Floor | Op::Ceil => {
            let f = as_float(&eval_arg(args, 0, ctx)?).map_err(err)?;
            let r = if op == Op::Floor { f.floor() } else { f.ceil() };
            #[allow(clippy::cast_possible_truncation)]
            Ok(Value::Int(r as i64))
        }
        _ => Ok(Value::Bool(eval_arg(args, 0, ctx)?.is_null())),
    }
}

/// The hex of the first 8 bytes of SHA-256 over the value's JSON.
fn hash_hex(v: &Value) -> String {
    let digest = Sha256::digest(canonical_json(v).as_bytes());
    let mut out = String::with_capacity(16);
    for b in digest.iter().take(8) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

static RNG_STATE: AtomicU64 = AtomicU64::new(0);

/// splitmix64 over a process-wide counter, seeded lazily from the clock.
fn next_random() -> u64 {
    const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
    if RNG_STATE.load(Ordering::Relaxed) == 0 {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| {
                u64::try_from(d.as_nanos() & u128::from(u64::MAX)).unwrap_or(1)
            })
            | 1;
        let _ = RNG_STATE.compare_exchange(0, seed, Ordering::Relaxed, Ordering::Relaxed);
    }
    let mut z = RNG_STATE
        .fetch_add(GAMMA, Ordering::Relaxed)
        .wrapping_add(GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_should_match_the_reference() {
        assert_eq!(hash_hex(&Value::from("test")), "4d967a30111bf29f");
    }

    #[test]
    fn rnd_should_produce_varying_values() {
        assert_ne!(next_random(), next_random());
    }
}
