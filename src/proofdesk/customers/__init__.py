"""The studio's customers."""
