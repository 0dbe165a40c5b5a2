"""Fixtures shared by every app's tests: users, API clients and the live stack."""

pytest_plugins = ["cryptobot.testing.fixtures"]
