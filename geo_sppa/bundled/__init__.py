"""Bundled study areas and their catalogue; "the user's file, else the area's" is decided here."""
