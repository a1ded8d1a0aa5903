//! Source locations of pipeline stages, so compile errors can say `FILE:LINE:COLUMN`.
//!
//! The pipeline crate reports where a compile error is *inside the pipeline* (`pipeline[2]
//! @join[1].soft`, `branch 1 stage 0 @project`). This module re-reads the file's text with
//! span information and maps the stage part of that location to the line and column where
//! the stage starts in the file.

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

/// Where each stage starts: for a stage list, `stages[i]`; for a branch program,
/// `branches[b][s]`. Lines and columns are 1-based.
#[derive(Debug, Default)]
pub(crate) struct StageLocations {
    stages: Vec<(u64, u64)>,
    branches: Vec<Vec<(u64, u64)>>,
}

#[derive(Deserialize)]
struct Wrapped<T> {
    pipeline: T,
}

type Stages = Vec<Spanned<IgnoredAny>>;

fn at(s: &Spanned<IgnoredAny>) -> (u64, u64) {
    (s.referenced.line(), s.referenced.column())
}

impl StageLocations {
    /// Reads the stage locations of a pipeline file's text (YAML or JSON); empty when the
    /// text is neither a stage list nor a branch program (a single stage has no index).
    pub(crate) fn of(text: &str) -> Self {
        let list = |stages: Stages| stages.iter().map(at).collect::<Vec<_>>();
        if let Ok(branches) = serde_saphyr::from_str::<Vec<Stages>>(text)
            .or_else(|_| serde_saphyr::from_str::<Wrapped<Vec<Stages>>>(text).map(|w| w.pipeline))
        {
            return Self {
                stages: Vec::new(),
                branches: branches.into_iter().map(list).collect(),
            };
        }
        if let Ok(stages) = serde_saphyr::from_str::<Stages>(text)
            .or_else(|_| serde_saphyr::from_str::<Wrapped<Stages>>(text).map(|w| w.pipeline))
        {
            return Self {
                stages: list(stages),
                branches: Vec::new(),
            };
        }
        Self::default()
    }

    /// The `(line, column)` of the stage a compile error location (`pipeline[2] …` or
    /// `branch 1 stage 0 …`) starts with.
    pub(crate) fn find(&self, location: &str) -> Option<(u64, u64)> {
        if let Some(rest) = location.strip_prefix("pipeline[") {
            let index: usize = rest.split(']').next()?.parse().ok()?;
            return self.stages.get(index).copied();
        }
        let rest = location.strip_prefix("branch ")?;
        let mut words = rest.split_whitespace();
        let branch: usize = words.next()?.parse().ok()?;
        if words.next()? != "stage" {
            return None;
        }
        let stage: usize = words.next()?.parse().ok()?;
        self.branches.get(branch)?.get(stage).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_list_locations_should_point_at_each_stage() {
        let text = "- \"@distinct\"\n- \"@select\": true\n-   \"@frobnicate\": 1\n";
        let loc = StageLocations::of(text);
        assert_eq!(loc.find("pipeline[0]"), Some((1, 3)));
        assert_eq!(
            loc.find("pipeline[2] @frobnicate: unsupported"),
            Some((3, 5))
        );
        assert_eq!(loc.find("pipeline[3]"), None);
    }

    #[test]
    fn branch_and_wrapped_locations_should_be_found() {
        let text = "pipeline:\n  - - \"@inputs\": [A]\n    - \"@output\": out\n  - - \"@inputs\": [out]\n    - \"@bogus\": 1\n";
        let loc = StageLocations::of(text);
        assert_eq!(loc.find("branch 1 stage 1 @bogus"), Some((5, 7)));
        assert_eq!(loc.find("branch 0 stage 0"), Some((2, 7)));
    }
}
