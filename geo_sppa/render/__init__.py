"""Rendering: self-contained Folium maps, charts, the report HTML and their offline assets."""
