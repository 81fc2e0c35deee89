"""Customers' login to the portal: invitations, passwords, resets, sessions, login mails."""
