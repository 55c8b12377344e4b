"""Credential mechanics shared by profiles (clients) and mocks (servers)."""
