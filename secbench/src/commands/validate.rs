//! `secbench validate`: every line of record files checked strictly.

use crate::cli::ValidateArgs;
use anyhow::Result;
use secbench_analyzer::validate;

/// Runs `secbench validate`.
pub fn run(args: ValidateArgs) -> Result<i32> {
    let mut failed = false;
    for file in &args.files {
        let summary = validate::validate_file(file)?;
        println!("{}: {} records valid", file.display(), summary.records);
        for problem in &summary.problems {
            eprintln!("{problem}");
        }
        failed |= !summary.problems.is_empty();
    }
    Ok(i32::from(failed))
}
