"""The only modules that talk to the outside world on the notifications side (SMTP)."""
