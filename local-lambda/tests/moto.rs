//! The emulator's launcher leaves nothing behind: its request recording lives in a folder the
//! handle owns, removed when the handle is dropped, and the launcher makes no folder of its own
//! (one it made was removed only at a clean exit, which the handle's kill never gave it: every
//! test run left dozens in the temporary folder).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn launcher_folders() -> BTreeSet<PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .expect("the temporary folder")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("secbench-moto-recording-"))
        })
        .collect()
}

#[test]
fn a_stopped_emulator_leaves_no_folder_behind() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let before = launcher_folders();
    let moto = secbench_local_lambda::moto::start(&root)
        .unwrap_or_else(|e| panic!("{e} (the README's test command installs moto)"));
    let own = moto
        .recording()
        .parent()
        .expect("the recording is in a folder")
        .to_path_buf();
    // `start` returns once moto has answered a request, so its recorder has read the file's name.
    assert!(own.is_dir(), "{} exists while moto runs", own.display());
    drop(moto);
    assert!(
        !own.exists(),
        "{} is removed with the handle",
        own.display()
    );
    let left: Vec<_> = launcher_folders().difference(&before).cloned().collect();
    assert!(left.is_empty(), "the launcher left {left:?}");
}
