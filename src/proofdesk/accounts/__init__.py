"""Staff accounts: users, sessions, first-admin setup."""
