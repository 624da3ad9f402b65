//! The AWS API emulator of the local stage: moto in server mode, started from the project's
//! `.venv/` (`scripts/install-moto.sh`) on a free port of 127.0.0.1, with its own request
//! recording, and stopped when the handle is dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// moto could not be started.
#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    /// The venv's python or the launcher could not be run: run scripts/install-moto.sh.
    #[error("cannot start moto (run scripts/install-moto.sh): {0}")]
    Spawn(std::io::Error),
    /// It started but did not say it was ready: its message is given.
    #[error("moto did not start: {0}")]
    NotReady(String),
}

/// A running moto: killed when this is dropped, and its recording folder removed; if secbench
/// itself dies first, moto sees its stdin close and stops.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    _stdin: Option<ChildStdin>,
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Moto {
    /// Stops the emulator now (for fault tests: the backend going away mid-run).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Where moto's request recorder writes (`/moto-api/recorder/*`).
    pub fn recording(&self) -> PathBuf {
        self.dir.path().join("recording")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts moto from the checkout at `root`.
pub fn start(root: &Path) -> Result<Moto, MotoError> {
    let dir = tempfile::tempdir().map_err(MotoError::Spawn)?;
    let mut child = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("scripts/moto_server.py"))
        .arg("--until-stdin-closes")
        .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(MotoError::Spawn)?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out)
            .read_line(&mut line)
            .map_err(|e| MotoError::NotReady(e.to_string()))?;
    }
    let endpoint = line
        .trim()
        .strip_prefix("READY ")
        .ok_or_else(|| MotoError::NotReady(format!("it said {:?}", line.trim())))?
        .to_owned();
    let stdin = child.stdin.take();
    Ok(Moto {
        child,
        _stdin: stdin,
        dir,
        endpoint,
    })
}
