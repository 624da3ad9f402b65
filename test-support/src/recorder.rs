//! moto's request recorder (`/moto-api/recorder/*`), the one client every crate's tests use to
//! count the API calls that reached the emulator: a plain HTTP/1.0 request over loopback (moto
//! answers it with the whole body and closes), so no async runtime or HTTP stack is needed.

use std::io::{Read, Write};
use std::net::TcpStream;

/// moto's recorder at `endpoint` (`http://127.0.0.1:PORT`).
#[derive(Debug, Clone)]
pub struct MotoRecorder {
    /// moto's endpoint.
    pub endpoint: String,
}

impl MotoRecorder {
    /// The recorder of the moto at `endpoint`.
    pub fn new(endpoint: &str) -> MotoRecorder {
        MotoRecorder {
            endpoint: endpoint.to_owned(),
        }
    }

    /// The recorder of the moto at `endpoint`, reset and recording.
    pub fn started(endpoint: &str) -> MotoRecorder {
        let r = MotoRecorder::new(endpoint);
        r.start();
        r
    }

    /// Forgets what was recorded and starts recording.
    pub fn start(&self) {
        self.request("POST", "reset-recording");
        self.request("POST", "start-recording");
    }

    /// The requests recorded since [`MotoRecorder::start`], in order, as moto wrote them
    /// (method, url, headers, body).
    pub fn entries(&self) -> Vec<serde_json::Value> {
        self.request("GET", "download-recording")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The operations of the JSON-protocol requests recorded, in order: the last part of each
    /// `X-Amz-Target` (e.g. `GetSecretValue`).
    pub fn operations(&self) -> Vec<String> {
        self.entries()
            .iter()
            .filter_map(|v| {
                let headers = v.get("headers")?;
                let target = headers
                    .get("X-Amz-Target")
                    .or_else(|| headers.get("x-amz-target"))?
                    .as_str()?;
                Some(target.rsplit('.').next().unwrap_or(target).to_owned())
            })
            .collect()
    }

    /// One request to the recorder; the body of its 2xx answer.
    fn request(&self, method: &str, what: &str) -> String {
        let authority = self
            .endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/');
        let mut stream = TcpStream::connect(authority)
            .unwrap_or_else(|e| panic!("moto recorder at {authority}: {e}"));
        write!(
            stream,
            "{method} /moto-api/recorder/{what} HTTP/1.0\r\nHost: {authority}\r\nContent-Length: 0\r\n\r\n"
        )
        .expect("moto recorder: request");
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .expect("moto recorder: answer");
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head.split(' ').nth(1).unwrap_or("");
        assert!(
            status.starts_with('2'),
            "moto recorder {what}: {}",
            head.lines().next().unwrap_or("")
        );
        body.to_owned()
    }
}
