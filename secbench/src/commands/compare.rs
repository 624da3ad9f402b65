//! `secbench compare`: NEW/BASE ratios with verdicts; exit 1 on a regression when asked.

use anyhow::{Context, Result};
use secbench_analyzer::compare;
use std::path::Path;

pub fn run(
    base: &Path,
    new: &Path,
    noise_threshold: f64,
    fail_on_regression: bool,
    json: bool,
    skip_invalid: bool,
    seed: u64,
) -> Result<i32> {
    let b = super::support::read_runs(&[base.to_owned()], skip_invalid)?;
    let n = super::support::read_runs(&[new.to_owned()], skip_invalid)?;
    let comparisons = compare::compare(&b, &n, noise_threshold, seed);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&comparisons).context("serializing")?
        );
    } else {
        print!("{}", compare::render_table(&comparisons, noise_threshold));
    }
    Ok(i32::from(
        fail_on_regression && compare::any_regression(&comparisons),
    ))
}
