"""One module per report: ``build(inputs, settings, year) -> a typed model`` with every figure the report states.

A notebook is narration over one ``build`` call; the model also gives the
report's headline for ``metrics.json`` (``model.headline()``) and the tables it
shows (``model.tables()``). Each module declares:

- ``INPUTS``: the input files it requires and those it reads when present;
- ``SETTINGS``: the settings (:class:`cxreport.settings.Settings` fields) it reads,
  which are what its notebook receives, so a changed setting re-runs only the
  reports that read it.

Modules: :mod:`.survey_scores`, :mod:`.cloud_maturity`, :mod:`.clv_churn`,
:mod:`.partner_programme`, :mod:`.partner_scorecard`, :mod:`.summary`.
"""
