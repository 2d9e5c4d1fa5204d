"""Benchmarks (`make bench`): results are ratios against SIPp measured in the same run."""
