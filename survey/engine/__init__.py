"""The generic questionnaire engine: a JSON definition in, accessible pages and checked answers out.

It knows questions, pages, conditions, rules and answers, and nothing of the
Clas domain (Cafs, campaigns, projects), of the database or of the HTTP views:
``tests/unit/test_engine_boundary.py`` keeps it so. Another programme can reuse
it by writing a definition (see ``docs/definitions.md``).

- :mod:`.definition`: loading and checking a definition (:func:`build_definition`);
- :mod:`.questions`: one class per kind of question, and the registry;
- :mod:`.forms`: the WTForms page forms built from a page;
- :mod:`.conditions`, :mod:`.rules`: when a question shows, cross-question checks;
- :mod:`.answers`: visibility, completeness, steps and pruning of stored answers;
- :mod:`.timefmt`: dates and numbers as French people read them.
"""
