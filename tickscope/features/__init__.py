"""Feature windows: the one function that turns a symbol's recent ticks into the model's [T][F] input.

Training (``tickscope.models.dataset``) and the detect stage
(``tickscope.streams.detect``) both call ``window.rows_from_price_windows``,
so the model sees exactly the numbers it was trained on (no train/serve skew).
"""
