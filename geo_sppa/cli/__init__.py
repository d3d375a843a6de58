"""The ``geo-sppa`` command line: a thin click layer over the library."""
