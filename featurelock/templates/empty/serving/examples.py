"""Real requests for the API's documentation, /health and the demo (none yet).

Example, once a service exists:

    from featurelock import Examples

    EXAMPLES = Examples(
        at="2024-03-30T00:00:00+00:00",
        requests=({"customer": "c01", "prediction_time": "2024-03-30T00:00:00+00:00"},),
    )
"""
