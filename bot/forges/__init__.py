"""Forge adapters: GitHub (gidgethub), GitLab (python-gitlab), local git; see ``base``."""
