//! `scripts/check_module_cycles.py` (CI runs it over the workspace) sees a two-file loop made
//! through a bare child path (`api::handle` in `lib.rs`, `use crate::Platform` in `api.rs`), and
//! passes the same crate once the shared state has a file of its own.

use secbench_test_support::root;
use std::process::{Command, Output};

fn check(fixture: &str) -> Output {
    Command::new("python3")
        .arg(root().join("scripts/check_module_cycles.py"))
        .arg(
            root()
                .join("secbench/tests/fixtures/cycles")
                .join(fixture)
                .join("src"),
        )
        .output()
        .expect("python3 runs the cycle check")
}

#[test]
fn a_loop_through_a_bare_child_path_fails_the_check() {
    let out = check("loop");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("import circle"), "{text}");
    assert!(
        text.contains("lib.rs imports from") && text.contains("api.rs"),
        "{text}"
    );
    assert!(
        text.contains("api.rs imports from") && text.contains("lib.rs"),
        "{text}"
    );
}

#[test]
fn the_same_crate_with_its_shared_state_apart_passes() {
    let out = check("no-loop");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("no import circle"), "{text}");
}

#[test]
fn the_workspace_has_no_loop() {
    let out = Command::new("python3")
        .arg(root().join("scripts/check_module_cycles.py"))
        .output()
        .expect("python3 runs the cycle check");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_lower_layer_that_imports_a_higher_one_fails_the_check() {
    let src = root().join("secbench/tests/fixtures/cycles/layers/src");
    let run = |layers: &str| {
        Command::new("python3")
            .arg(root().join("scripts/check_module_cycles.py"))
            .args(["--layers", layers])
            .arg(&src)
            .output()
            .expect("python3 runs the cycle check")
    };
    let out = run("rows;plot");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("layer broken")
            && text.contains("rows.rs imports from")
            && text.contains("plot.rs"),
        "{text}"
    );
    // The same files with `plot` declared the lower layer break nothing.
    let out = run("plot;rows");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
