//! A progress bar per scenario (indicatif): counts, errors, rate and ETA, hidden when standard
//! error is not a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Starts a bar for `scenario` with `planned` invocations.
pub fn scenario_bar(scenario: &str, planned: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(planned),
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    let style = ProgressStyle::with_template(
        "{prefix:>28} [{bar:30}] {pos}/{len} {msg} {per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(scenario.to_owned());
    bar
}
