import sys

from sipconf.conformance.runner import main

sys.exit(main(sys.argv[1:]))
