"""Compatibility module: rendering moved to :mod:`cxreport.build.render`."""

from .build.render import drop_absolute_urls, notebook_body, render_html, render_pdf  # noqa: F401
