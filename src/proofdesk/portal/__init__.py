"""The customer portal: customer login, invites, password resets and the customer's proofs."""
