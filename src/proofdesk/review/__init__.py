"""Reviewing a proof: share links, comments and decisions."""
