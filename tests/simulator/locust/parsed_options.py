"""Run as a script (not collected): the options Locust parses for the command line given,
with the shipped locustfile's options registered as `locust -f` registers them. Prints the
`sip_*` options as one JSON object; test_options.py asserts on it."""

import json
import sys

import simulator.locust.user  # noqa: F401  (registers the options, as loading the locustfile does)
from locust.argument_parser import get_parser

options = get_parser(default_config_files=[]).parse_args(sys.argv[1:])
print(json.dumps({k: v for k, v in vars(options).items() if k.startswith("sip_")}, sort_keys=True))
