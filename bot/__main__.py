"""``python -m bot`` is the same as the ``fluxbot`` console script."""

from bot.app.cli import run

if __name__ == "__main__":
    run()
