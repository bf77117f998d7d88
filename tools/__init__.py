"""Tools of the repository (not shipped in the wheel): the docs site's generated pages."""
