//! # deltaloop-engine
//!
//! DBSP over Z-sets. (Skeleton: filled in by the engine issue.)
