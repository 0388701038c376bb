"""Free-port lookup for the embedded servers."""

import socket


def free_port() -> int:
    """Let the kernel pick a port nobody is listening on.

    Fixed ports would make a second run (or a leftover from a crashed one) collide;
    the small race between closing this socket and the server binding is accepted.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
