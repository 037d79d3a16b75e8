"""Real CDNOW customers for the API's documentation, /health and the demo (asked at ``at``).

``at`` is the last weekly snapshot of the log (1998-06-24): every customer has a fresh row then.
"""

from featurelock import Examples

AT = "1998-06-24T00:00:00+00:00"

EXAMPLES = Examples(
    at=AT,
    requests=(
        {"customer": "00002", "prediction_time": AT},
        {"customer": "00022", "prediction_time": AT},
        {"customer": "99999", "prediction_time": AT},  # not a customer: missing features, no error
    ),
)
