"""Drivers: a `Driver` Protocol plus a plain dict of them (STYLE 11).

- `sipp`: generated SIPp XML, the real binary (caller for inbound, far end for outbound);
- `scapy`: raw SIP bytes over UDP from any 127.0.0.0/8 source, RTP events, a pcap per call;
- `inproc`: the routing engine, no sockets.
"""

from __future__ import annotations

from simulator.drivers.base import Driver, RunContext, Target
from simulator.drivers.inproc import InprocDriver
from simulator.drivers.scapy_driver import ScapyDriver
from simulator.drivers.sipp import SippDriver

DRIVERS: dict[str, Driver] = {"sipp": SippDriver(), "scapy": ScapyDriver(), "inproc": InprocDriver()}

__all__ = ["DRIVERS", "Driver", "RunContext", "Target"]
