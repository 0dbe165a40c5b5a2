"""Market-data fixtures live in cryptobot/testing/fixtures.py (shared by every app)."""
