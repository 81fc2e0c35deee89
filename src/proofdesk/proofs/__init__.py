"""Proofs, their versions, files and rendered pages, and their activity."""
