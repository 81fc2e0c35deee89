"""Designer notifications: the proof's designer (and admins who opt in) hears by email when a
customer opens a new version, comments, decides or withdraws an approval: at once, batched,
or in a daily digest, as each user prefers."""
