"""The telephony journal: a user's calls of the day as entries, and their live push to browsers."""
