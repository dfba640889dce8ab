"""GitLab: python-gitlab (the forge, its client pool, archives, history, schedules)."""
