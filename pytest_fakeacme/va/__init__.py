"""The validation authority: scripted outcomes and real checks of the client's responder.

Modules, in the direction of their imports: ``policy`` (Boulder's limits and URL rules) and
``attempt`` (what one attempt knows and yields) under ``render`` (Let's Encrypt's wording), under
the probes (``http01``, ``tlsalpn01``, ``caa``) and ``checks`` (the real checks), under
``authority`` (scripts and attempts). This package's ``__init__`` imports none of them, so that
:mod:`pytest_fakeacme.outcomes` can use ``va.policy`` without loading the VA.
"""
