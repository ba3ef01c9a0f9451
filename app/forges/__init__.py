"""One thin client per upstream forge and PyPI, and the types they all answer in."""
