"""Real requests for the API's documentation, /health and the demo (asked at ``at``)."""

from featurelock import Examples

AT = "2024-03-30T00:00:00+00:00"

EXAMPLES = Examples(
    at=AT,
    requests=(
        {"customer": "c01", "prediction_time": AT},
        {"customer": "c02", "prediction_time": AT},
    ),
)
