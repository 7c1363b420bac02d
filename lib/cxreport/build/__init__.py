"""The build behind ``cxreport report``: one concern a module.

- :mod:`.discover`: the notebooks, their metadata, the units of a per-unit notebook;
- :mod:`.validate`: parameters and input files checked up front, the verdict cache;
- :mod:`.execute`: papermill runs, the per-unit kernel, worker processes, typed failures;
- :mod:`.render`: executed notebooks to self-contained HTML and A4 PDF;
- :mod:`.cache`: build keys, the manifest, reuse and keeping of earlier outputs;
- :mod:`.stage`: staging folders and the atomic swap (``publish`` uses it too);
- :mod:`.site`: the index pages, from Jinja2 templates;
- :mod:`.workbook`: ``tables.xlsx`` and the merge of the headline figures;
- :mod:`.progress`: the log and the progress display;
- :mod:`.run`: ``build_year``, the orchestration.

Nothing here computes a figure: the reports do (:mod:`cxreport.reports`).
The package imports nothing on its own, so ``publish`` can use :mod:`.stage`
without loading papermill; import the modules you need.
"""
