//! Literal macros for Z-sets, so tests and examples read like the maths.

/// Builds a [`ZSet`](crate::ZSet) from `row => weight` pairs (weights of equal rows add).
///
/// ```
/// use deltaloop_engine::{zset, ZSet};
/// let z: ZSet<&str> = zset! { "a" => 1, "b" => -2, "a" => 1 };
/// assert_eq!(z.weight(&"a"), 2);
/// assert_eq!(z.weight(&"b"), -2);
/// let empty: ZSet<u8> = zset! {};
/// assert!(empty.is_empty());
/// ```
#[macro_export]
macro_rules! zset {
    () => { $crate::ZSet::new() };
    ($($row:expr => $w:expr),+ $(,)?) => {{
        let mut z = $crate::ZSet::new();
        $( z.insert($row, $w); )+
        z
    }};
}

/// Builds an [`IndexedZSet`](crate::IndexedZSet) from `key => { row => weight, … }` groups.
///
/// ```
/// use deltaloop_engine::{indexed_zset, IndexedZSet};
/// let ix: IndexedZSet<&str, u32> = indexed_zset! { "a" => { 1 => 1, 2 => 1 }, "b" => { 3 => -1 } };
/// assert_eq!(ix.get(&"a").map(|g| g.len()), Some(2));
/// assert_eq!(ix.weight(&"b", &3), -1);
/// ```
#[macro_export]
macro_rules! indexed_zset {
    () => { $crate::IndexedZSet::new() };
    ($($key:expr => { $($row:expr => $w:expr),* $(,)? }),+ $(,)?) => {{
        let mut ix = $crate::IndexedZSet::new();
        $( $( ix.insert($key, $row, $w); )* )+
        ix
    }};
}
