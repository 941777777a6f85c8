"""Harness for Concord's integration tests: proxyd process control, fake backends, raw clients.

Standard library only; run with /usr/bin/python3. Every socket binds 127.0.0.1 port 0 and every
wait is bounded by a deadline.
"""
