"""Built-in Jinja2 templates (package data)."""
