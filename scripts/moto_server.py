"""Starts moto (the AWS API emulator) on 127.0.0.1 and prints `READY <endpoint>` once it
answers. With --until-stdin-closes it stops when its standard input reaches EOF, so an
emulator started by a test or by `secbench local` never outlives the process that started it.

Usage: .venv/bin/python scripts/moto_server.py [--port N] [--until-stdin-closes]
"""
import argparse
import sys
import urllib.request

from moto.server import ThreadedMotoServer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--until-stdin-closes", action="store_true")
    args = parser.parse_args()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # Answering HTTP, not just bound: ask moto for its own state.
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=30) as response:
        response.read()
    print(f"READY {endpoint}", flush=True)
    try:
        if args.until_stdin_closes:
            sys.stdin.read()
        else:
            server._thread.join()  # noqa: SLF001 - serve until killed
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
