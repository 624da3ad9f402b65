//! `secbench compare`: NEW/BASE ratios with verdicts; exit 1 on a regression when asked.

use crate::cli::CompareArgs;
use anyhow::{Context, Result};
use secbench_analyzer::compare;

/// Runs `secbench compare`.
pub fn run(args: CompareArgs) -> Result<i32> {
    let CompareArgs {
        base,
        new,
        noise_threshold,
        fail_on_regression,
        json,
        skip_invalid,
        seed,
    } = args;
    let b = super::support::read_runs(&[base], skip_invalid)?;
    let n = super::support::read_runs(&[new], skip_invalid)?;
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
