"""Project-level checks: deployment files, settings in production mode."""
