"""Test harness shared by the pytest suites, the local DR lab and the benchmarks.

Each module wraps one real component (sshd, moto, the fake API server, ansible-playbook) so that
tests, `make lab` and the benchmarks start them the same way.
"""
