"""Compatibility module: the site pages moved to :mod:`cxreport.build.site`."""

from .build.site import (  # noqa: F401
                         CONTENT_SECURITY_POLICY,
                         STYLESHEET,
                         TEMPLATES,
                         data_fingerprint,
                         page,
                         write_site_index,
                         write_year_index,
)
