"""A local git clone as a forge: real branches, pull requests as files."""
