"""Run as a script (not collected; Locust patches the process with gevent): a local Locust
environment counts three calls, then `write_final_csv` writes its CSV files at the prefix
given. test_final_report.py asserts on them."""

import sys

from locust import User
from locust.env import Environment

from simulator.locust.final_report import write_final_csv


class Caller(User):
    abstract = False


environment = Environment(user_classes=[Caller])
environment.create_local_runner()
environment.stats.log_request("SIP", "front desk", 12, 0)
environment.stats.log_request("SIP", "front desk", 14, 0)
environment.stats.log_request("SIP", "number without a rule", 9, 0)
environment.stats.log_error("SIP", "number without a rule", "got 404 Not Found, expected 200")
write_final_csv(environment, sys.argv[1])
