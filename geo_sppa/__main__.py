"""``python -m geo_sppa`` runs the ``geo-sppa`` command."""

from geo_sppa.cli.main import cli

if __name__ == "__main__":
    cli(prog_name="geo-sppa")
