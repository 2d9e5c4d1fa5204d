"""`python -m simulator.locust` prints the path of the shipped locustfile, for
`locust -f $(python -m simulator.locust) ...` (`--locustfile-path` is accepted and means the same)."""

import sys

from simulator.locust import LOCUSTFILE


def main(argv: list[str]) -> int:
    if argv not in ([], ["--locustfile-path"]):
        print("usage: python -m simulator.locust [--locustfile-path]", file=sys.stderr)
        return 1
    print(LOCUSTFILE)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
