"""cxreport: the tested computations behind the customer-experience report notebooks.

Modules by domain:

- :mod:`cxreport.stats`: generic interval estimates and tests.
- :mod:`cxreport.survey`: CSAT, touchpoints, NPS, key drivers.
- :mod:`cxreport.comments`: comment themes, quotes and redaction of personal data.
- :mod:`cxreport.inputs`: the input contract: schemas, validation and loading.
- :mod:`cxreport.sample`: the deterministic sample-data generator.
- :mod:`cxreport.style`: the house chart style.
- :mod:`cxreport.params` and :mod:`cxreport.pipeline`: the reporting pipeline.
"""

__version__ = "0.1.0"
