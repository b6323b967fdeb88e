"""Every email the application sends to partners, and how it leaves.

- :mod:`.messages`: composing a message (French text and HTML) and the SMTP postman;
- :mod:`.rounds`: planning one :class:`~survey.models.EmailLog` row per contact and
  occasion; a round's progress; putting failed messages back in line;
- :mod:`.delivery`: sending the planned rows, at least once under one Message-ID
  (claimed, committed, then sent), shared between every sender;
- :mod:`.occasions`: the occasions (invitations, reminders, receipts, notices);
- :mod:`.outbox`: the background sender of each server process;
- :mod:`.sender`: the node's sender process, under ``deploy/gunicorn.conf.py`` (the workers wake it).

The log's table is a model like the others (:mod:`survey.models.email`). The
Caf users' password links (:mod:`survey.password_links`) use the same postman
but no log: they belong to no response.
"""
