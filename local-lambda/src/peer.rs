//! Whose connection a front listener accepted, for a SnapStart snapshot's listener: every
//! environment restored from a snapshot holds SDK clients built at its INIT, with the snapshot
//! environment's endpoint, so their connections arrive at the snapshot's listener. To count
//! them where Lambda's would be (on the restored environment: its network is its own), the
//! listener asks [`Restores`] which restored environment's process holds the client end of
//! the connection: the socket's inode from `/proc/net/tcp` (the client's local address is the
//! accepted peer), then the processes of each restored environment's cgroup (`cgroup.procs`,
//! which the restored process joins before it runs any code of its own) and their `fd/` links
//! (`socket:[INODE]`). A connection no restored environment holds (the snapshot's own INIT
//! fetch, or an environment without a cgroup) stays the snapshot's.
//!
//! The lookup reads a few small `/proc` files (microseconds; one per connection, not per
//! request) and runs beside the connection's TLS handshake, not before it.

use secbench_record::sync::lock;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

/// One restored environment: its `cgroup.procs` files and its listener's counters.
struct Member<C> {
    procs: Vec<PathBuf>,
    counts: Weak<C>,
}

/// The environments restored from one snapshot, whose connections its listener hands on to
/// their counters `C` (the front's `ConnCounts`).
pub struct Restores<C>(Mutex<Vec<Member<C>>>);

impl<C> Default for Restores<C> {
    fn default() -> Self {
        Restores(Mutex::new(Vec::new()))
    }
}

impl<C> std::fmt::Debug for Restores<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Restores")
            .field(&lock(&self.0).len())
            .finish()
    }
}

impl<C> Restores<C> {
    /// Adds a restored environment (before its process starts): its cgroup's `cgroup.procs`
    /// files and its listener's counters. Environments gone meanwhile are dropped.
    pub fn join(&self, procs: Vec<PathBuf>, counts: &Arc<C>) {
        let mut members = lock(&self.0);
        members.retain(|m| m.counts.strong_count() > 0);
        if !procs.is_empty() {
            members.push(Member {
                procs,
                counts: Arc::downgrade(counts),
            });
        }
    }

    /// The counters of the restored environment whose process holds the client end of the
    /// connection from `peer` to `local` (None: none does).
    pub fn counts_for(&self, peer: SocketAddr, local: SocketAddr) -> Option<Arc<C>> {
        let inode = socket_inode(peer, local)?;
        let link = format!("socket:[{inode}]");
        let members: Vec<(Vec<PathBuf>, Arc<C>)> = lock(&self.0)
            .iter()
            .filter_map(|m| Some((m.procs.clone(), m.counts.upgrade()?)))
            .collect();
        members
            .into_iter()
            .find(|(procs, _)| {
                crate::cgroup::pids_in(procs)
                    .into_iter()
                    .any(|pid| holds(pid, &link))
            })
            .map(|(_, counts)| counts)
    }
}

/// The inode of the IPv4 TCP socket whose local address is `local` and remote is `remote`
/// (`/proc/net/tcp`: addresses as hex `ADDR:PORT`, the address in host byte order).
pub fn socket_inode(local: SocketAddr, remote: SocketAddr) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let (local, remote) = (hex_address(local)?, hex_address(remote)?);
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.get(1) == Some(&local.as_str()) && f.get(2) == Some(&remote.as_str()))
            .then(|| f.get(9)?.parse().ok())
            .flatten()
    })
}

fn hex_address(a: SocketAddr) -> Option<String> {
    match a {
        SocketAddr::V4(v4) => Some(format!(
            "{:08X}:{:04X}",
            u32::from_ne_bytes(v4.ip().octets()),
            v4.port()
        )),
        SocketAddr::V6(_) => None,
    }
}

/// Whether one of `pid`'s descriptors is the socket `link` (`socket:[INODE]`).
fn holds(pid: i32, link: &str) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten()
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == link))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_client_socket_of_a_loopback_connection_in_this_process() {
        let server = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let at = server.local_addr().expect("address");
        let client = std::net::TcpStream::connect(at).expect("connect");
        let (_accepted, peer) = server.accept().expect("accept");
        assert_eq!(peer, client.local_addr().expect("client address"));
        let inode = socket_inode(peer, at).expect("in /proc/net/tcp");
        assert!(holds(
            std::process::id() as i32,
            &format!("socket:[{inode}]")
        ));
        // The accepted end is another socket (another inode).
        let other = socket_inode(at, peer).expect("the accepted end");
        assert_ne!(other, inode);
        // A process without it: pid 1 does not hold this process's socket.
        assert!(!holds(1, &format!("socket:[{inode}]")));
    }
}
