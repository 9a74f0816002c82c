"""The thin HTTP layer: picks the rendered bytes and adds content type, caching and errors."""
