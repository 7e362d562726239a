"""The pipeline's stages (pure functions of records, one module each) and the Faust agents that move them.

Stages: ``ingest`` and ``detect`` (with ``score``, ``gate`` and the window ``state``) on ``ticks``,
``explain`` on ``signals``, ``alert`` on ``explanations``; ``offline`` runs them in-process. The agents
(``agents/``) and the app (``worker``) deliver every batch through one ``checkpoint``.
"""
