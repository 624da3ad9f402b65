"""SnapStart's snapshot and restore on the local stage (never deployed: on AWS, Lambda does this).

Lambda runs a SnapStart function's INIT once, when a version is published, snapshots the
initialised execution environment (Firecracker's memory and disk) and starts each later
environment by restoring that snapshot. CRIU cannot checkpoint a process on the kernels the
local stage runs on, so this module does what the snapshot's memory semantics need with a fork:

- ``snapshot``: the runtime interface client (awslambdaric) runs INIT as on Lambda, runs the
  before-snapshot hooks and calls the Runtime API's ``/restore/next``; here that call turns the
  initialised interpreter into a fork server on the Unix socket the platform names
  (``SECBENCH_LOCAL_SNAPSHOT_SOCKET``) and tells the platform INIT is over (its ``/restore/next``,
  which the platform holds: the snapshot is never restored itself).
- ``restore``: a restored environment starts this module in its own cgroup with its own
  variables; it hands them and its stdout/stderr to the fork server, which forks the
  initialised interpreter. The child takes the environment's variables, log stream and cgroups,
  gets the ``random`` module's state as it was in the snapshot (CPython reseeds it at fork; a
  restored snapshot does not), finds every socket it inherited dead (they read as closed: the
  peers of a snapshot's connections are gone after a restore), points the Runtime API client at
  its environment and returns from ``/restore/next`` as a restored runtime does: the client then
  runs the after-restore hooks and asks for events. The helper process stays as the
  environment's process and exits with the child's status; when the platform kills it, the fork
  server kills the child.

Not emulated: Firecracker's restore (its time is the fork's here), file descriptors other than
sockets, and the snapshot's disk (/tmp).
"""

import json
import os
import random
import select
import signal
import socket
import stat
import sys
import threading
import warnings

SNAPSHOT_VAR = "SECBENCH_LOCAL_SNAPSHOT_SOCKET"
RESTORE_VAR = "SECBENCH_LOCAL_RESTORE_FROM"
CGROUPS_VAR = "SECBENCH_LOCAL_CGROUP_PROCS"
ORDER_BYTES = 1 << 20


def snapshot(handler):
    """Runs awslambdaric with ``/restore/next`` serving restores from the initialised process."""
    path = os.environ.pop(SNAPSHOT_VAR)
    # The fork server forks while one other thread waits on the snapshot's /restore/next
    # (parked in a socket read, holding no lock the child needs): Python's warning about forking
    # a multi-threaded process does not apply.
    warnings.filterwarnings("ignore", message=r"This process .* is multi-threaded")
    from awslambdaric import lambda_runtime_client as lrc

    original = lrc.BaseLambdaRuntimeClient.restore_next

    def restore_next(self):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        server.bind(path)
        server.listen(64)
        # INIT is over: the platform answers the snapshot's /restore/next never.
        threading.Thread(target=_quietly, args=(original, self), daemon=True).start()
        while True:
            conn, _ = server.accept()
            try:
                message, fds, _, _ = socket.recv_fds(conn, ORDER_BYTES, 2)
                order = json.loads(message)
            except (OSError, ValueError):
                conn.close()
                continue
            state = random.getstate()
            pid = os.fork()
            if pid == 0:
                server.close()
                _become(order, fds, conn, state)
                if getattr(lrc, "runtime_client", None) is not None:
                    lrc.runtime_client = _fresh_native_client(lrc.runtime_client)
                    lrc.runtime_client.initialize_client(lrc._user_agent())
                self.lambda_runtime_address = os.environ["AWS_LAMBDA_RUNTIME_API"]
                # The restored environment's /restore/next answers at once: the hooks run next.
                return original(self)
            for fd in fds:
                os.close(fd)
            threading.Thread(target=_watch, args=(pid, conn), daemon=True).start()

    lrc.BaseLambdaRuntimeClient.restore_next = restore_next
    from awslambdaric.__main__ import main

    main([sys.argv[0], handler])


def _fresh_native_client(module):
    """awslambdaric's native Runtime API client keeps the address it was first initialised
    with (a static): a copy of its library, loaded under a new path, is a client of its own for
    the restored environment's address."""
    import importlib.util
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="secbench-rc-") as d:
        copy = os.path.join(d, os.path.basename(module.__file__))
        shutil.copyfile(module.__file__, copy)
        name = os.path.basename(module.__file__).split(".")[0]
        spec = importlib.util.spec_from_file_location(name, copy)
        fresh = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(fresh)
    return fresh


def _quietly(call, client):
    try:
        call(client)
    except Exception:  # the platform closed it: the snapshot is going
        pass


def _watch(pid, conn):
    """Reports the child's exit to its helper; kills the child when the helper goes."""
    pidfd = os.pidfd_open(pid)
    ready, _, _ = select.select([pidfd, conn], [], [])
    if conn in ready and pidfd not in ready:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    try:
        conn.send(str(os.waitstatus_to_exitcode(status)).encode())
    except OSError:
        pass
    conn.close()
    os.close(pidfd)


def _become(order, fds, conn, state):
    """In the forked child: the restored environment's process."""
    conn.close()
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    for fd in fds:
        os.close(fd)
    for procs in order.get("cgroup_procs", []):
        try:
            with open(procs, "w") as f:
                f.write(str(os.getpid()))
        except OSError as e:
            print(f"local snapstart: cannot join {procs}: {e.strerror}", file=sys.stderr)
    os.environ.clear()
    os.environ.update(order["vars"])
    random.setstate(state)
    _kill_inherited_sockets()


def _kill_inherited_sockets():
    """Every socket the snapshot held reads as closed from now on."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
        except OSError:
            continue
        dead, peer = socket.socketpair()
        peer.close()
        os.dup2(dead.fileno(), fd)
        dead.close()


def restore():
    """The restored environment's process: asks the fork server for a restore and waits."""
    path = os.environ.pop(RESTORE_VAR)
    cgroups = [p for p in os.environ.pop(CGROUPS_VAR, "").split(":") if p]
    order = {"vars": dict(os.environ), "cgroup_procs": cgroups}
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    conn.connect(path)
    socket.send_fds(conn, [json.dumps(order).encode()], [1, 2])
    status = conn.recv(64)
    sys.exit(int(status) if status.strip().lstrip(b"-").isdigit() else 1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["snapshot"]:
        snapshot(sys.argv[2])
    elif sys.argv[1:2] == ["restore"]:
        restore()
    else:
        sys.exit("usage: local_snapstart.py snapshot HANDLER | restore")
