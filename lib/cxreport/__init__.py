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

import warnings as _warnings

# pandera and Ibis import pyspark.pandas when PySpark is installed (it is, for --engine spark), and
# PySpark 4 then warns about pandas 3 on every import: a note about an integration these reports do
# not use, which would otherwise print in every build and notebook.
_warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
