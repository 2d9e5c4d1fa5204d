"""Reports of a run: terminal summary, JUnit XML, a pcap and an HTML ladder per call, coverage."""
