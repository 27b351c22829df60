"""The test suite: tests/app and tests/model mirror the source tree; browser, faults and hardening are system suites."""
