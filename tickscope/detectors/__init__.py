"""Alert detectors: one module per detector, all on one protocol (``protocol.Detector``).

Importing the package registers the shipped detectors, in the order their
alerts are raised when several fire on one explanation: attribution_drift and
segment_drift (``share_drift``), rank_change, faithfulness_decay
(``faithfulness``), instability. The math they share is in ``measures``; the
training reference they compare against is built by ``reference``.
"""

# registration order is alert order: keep these imports in this order
from tickscope.detectors import share_drift  # noqa: F401, I001
from tickscope.detectors import rank_change  # noqa: F401
from tickscope.detectors import faithfulness  # noqa: F401
from tickscope.detectors import instability  # noqa: F401
