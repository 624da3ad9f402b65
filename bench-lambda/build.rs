//! Keeps the probe's build mark true: the `no-jitter-entropy` feature and aws-lc's
//! `AWS_LC_SYS_NO_JITTER_ENTROPY` build setting go together.
//!
//! The setting is what turns aws-lc's CPU jitter entropy off (aws-lc-sys reads it in its build
//! script); the feature is what the probe reports as its build (`ProbeBuild`) and what gives
//! aws-lc-sys and every crate above it artifacts of their own (it also turns on aws-lc-sys's
//! `disable-prebuilt-nasm`, which only acts on Windows), so both builds live in one target
//! directory and share every crate below aws-lc. One without the other would mislabel the
//! probe, or overwrite the default build's aws-lc with the other one: refused here.

fn main() {
    const SETTING: &str = "AWS_LC_SYS_NO_JITTER_ENTROPY";
    let target = std::env::var("TARGET")
        .unwrap_or_default()
        .to_lowercase()
        .replace('-', "_");
    let for_target = format!("{SETTING}_{target}");
    println!("cargo:rerun-if-env-changed={SETTING}");
    println!("cargo:rerun-if-env-changed={for_target}");
    // aws-lc-sys's reading: the target's variable first; a value starting with a digit other
    // than 0, `y`, `on` or `t` is on (`0`, `n`, `off`, `f` and anything else are not).
    let setting = std::env::var(&for_target)
        .or_else(|_| std::env::var(SETTING))
        .ok()
        .map(|v| v.to_lowercase());
    let on = setting.as_deref().is_some_and(|v| {
        !v.starts_with('0')
            && (v.starts_with(|c: char| c.is_ascii_digit())
                || v.starts_with('y')
                || v.starts_with("on")
                || v.starts_with('t'))
    });
    let feature = std::env::var_os("CARGO_FEATURE_NO_JITTER_ENTROPY").is_some();
    if on != feature {
        panic!(
            "bench-lambda: {SETTING}={} with the `no-jitter-entropy` feature {}: build the no-jitter \
             probe with both ({SETTING}=1 cargo build --release -p bench-lambda --features \
             no-jitter-entropy) and the default probe with neither",
            setting.as_deref().unwrap_or("(unset)"),
            if feature { "on" } else { "off" },
        );
    }
}
