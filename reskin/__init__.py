"""reskin: a recurring 3D cast for episodic short dramas."""

__version__ = "0.1.0"
