"""GitHub: gidgethub on aiohttp (the forge, the HTTP client, App auth, history)."""
