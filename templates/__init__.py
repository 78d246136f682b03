"""Built-in Jinja2 templates (package data, `shiplane.builtin_templates`): `concourse/*.j2`, `spinnaker/*.j2`.

The code that renders them is :mod:`shiplane.templates`. This package has another name because a package
`shiplane.templates` would shadow that module once installed.
"""
