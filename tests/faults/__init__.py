"""Faults from outside: the SMTP server, worker processes and the database misbehave."""
