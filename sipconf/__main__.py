import sys

try:
    from sipconf.cli import main

    code = main()
except KeyboardInterrupt:  # Ctrl-C while starting up, before any command could handle it
    print("Interrupted while starting: nothing was changed.", file=sys.stderr)
    code = 130
raise SystemExit(code)
