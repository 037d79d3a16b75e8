"""The prediction API: answers with receipts, clear 422s, flags, 503 and recovery, auth, fuzzing."""

from __future__ import annotations

import json
import sqlite3

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from featurelock.serving.app import MAX_BATCH, create_app
from featurelock.serving.log import log_path
from featurelock.serving.replay import replay
from tests.conftest import DEFAULT_AT, nyc

pytestmark = pytest.mark.slow
FLIGHT = {
    "origin": "JFK",
    "dest": "LAX",
    "carrier": "AA",
    "tailnum": "N338AA",
    "distance": 2475,
    "sched_dep_time": "2013-12-30T17:00:00-05:00",
    "prediction_time": DEFAULT_AT.isoformat(),
}


@pytest.fixture(scope="module")
def client(served_home):
    with TestClient(create_app(nyc())) as c:
        yield c


def test_predict_returns_probability_and_a_replayable_receipt(client):
    r = client.post("/predict", json=FLIGHT)
    assert r.status_code == 200
    body = r.json()
    assert 0 < body["probability"] < 1
    assert body["feature_service"] == "delay_model_v1"
    assert body["prediction_time"] == "2013-12-30T18:00:00+00:00"
    assert body["features"]["sched_dep_hour_v1"] == 17 and body["features"]["distance_v1"] == 2475.0
    assert body["event_timestamps"]["carrier_dep_delay_mean_7d_v1"] == "2013-12-30T18:00:00+00:00"
    assert body["event_timestamps"]["route_dep_delay_mean_30d_v1"] == "2013-12-30T00:00:00+00:00"
    assert set(body["fingerprints"]) >= {"carrier_dep_delay_mean_7d@v1", "sched_dep_hour@v1"}
    assert body["in_population"] is True and body["population_flags"] == []


def test_batch_matches_single_predictions(client):
    one = client.post("/predict", json=FLIGHT).json()["probability"]
    other = {**FLIGHT, "origin": "EWR", "dest": "ORD", "carrier": "UA", "tailnum": None, "distance": 719}
    batch = client.post("/predict/batch", json={"requests": [FLIGHT, other]}).json()["predictions"]
    assert batch[0]["probability"] == one
    assert batch[1]["missing_features"] == ["plane_age_v1", "plane_seats_v1"]


def test_unknown_tailnum_gives_missing_feature_flags_not_500(client):
    r = client.post("/predict", json={**FLIGHT, "tailnum": "N00000"})
    assert r.status_code == 200
    assert r.json()["missing_features"] == ["plane_age_v1", "plane_seats_v1"]


def test_requests_outside_the_population_are_flagged(client):
    r = client.post(
        "/predict", json={**FLIGHT, "origin": "BOS", "sched_dep_time": "2014-03-01T10:00:00-05:00"}
    )
    flags = r.json()["population_flags"]
    assert r.status_code == 200 and r.json()["in_population"] is False
    assert "origin 'BOS' is not one of the trained values ['EWR', 'JFK', 'LGA']" in flags[0]
    assert "(America/New_York) is outside the trained window [2013-01-01, 2014-01-01)" in flags[1]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({k: v for k, v in FLIGHT.items() if k != "dest"}, "dest", "Field required"),
        ({**FLIGHT, "distance": "far"}, "distance", "valid number"),
        ({**FLIGHT, "sched_dep_time": "2013-12-30T17:00:00"}, "sched_dep_time", "timezone info"),
        ({**FLIGHT, "colour": "red"}, "colour", "Extra inputs are not permitted"),
        (
            {**FLIGHT, "prediction_time": "9999-12-31T23:59:59+14:00"},
            "prediction_time",
            "outside the supported",
        ),
        ({**FLIGHT, "sched_dep_time": "0001-01-01T00:00:00Z"}, "sched_dep_time", "outside the supported"),
        ({"requests": [FLIGHT] * (MAX_BATCH + 1)}, "requests", "at most 100 items"),
    ],
    ids=["missing", "wrong-type", "naive-time", "extra", "year-9999", "year-1", "oversized-batch"],
)
def test_bad_requests_get_422_naming_the_field(client, body, field, message):
    path = "/predict/batch" if "requests" in body else "/predict"
    r = client.post(path, json=body)
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert detail["field"] == field and message in detail["message"]


def test_malformed_json_is_422(client):
    r = client.post("/predict", content=b'{"origin": "JFK",', headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body"


def test_store_unavailable_gives_503_then_recovers(client, served_home):
    blocker = sqlite3.connect(served_home / "online_store.db")
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        r = client.post("/predict", json=FLIGHT)
        assert r.status_code == 503
        assert "online store could not be read" in r.json()["detail"]
        assert client.get("/health").status_code == 503
    finally:
        blocker.rollback()
        blocker.close()
    assert client.post("/predict", json=FLIGHT).status_code == 200
    assert client.get("/health").json()["status"] == "ok"


def test_model_endpoint_describes_what_is_served(client):
    body = client.get("/model").json()
    assert body["feature_service"] == "delay_model_v1"
    assert body["features"][0] == "carrier_dep_delay_mean_7d_v1" and len(body["features"]) == 14
    assert body["population"]["filters"][0] == {"field": "origin", "one_of": ["EWR", "JFK", "LGA"]}
    assert body["population"]["ref"] == "nyc_departures_2013@v1"


def test_openapi_request_schema_is_generated_from_the_service(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["PredictRequest"]
    props = schema["properties"]
    assert list(props) == [
        "origin",
        "dest",
        "carrier",
        "tailnum",
        "sched_dep_time",
        "distance",
        "flight_id",
        "prediction_time",
    ]
    assert set(schema["required"]) == {"origin", "dest", "carrier", "sched_dep_time", "distance"}
    assert props["sched_dep_time"]["format"] == "date-time"
    assert props["distance"]["maximum"] == 20_000
    assert schema["examples"][0]["origin"] == "JFK" and schema["examples"][0]["tailnum"] == "N338AA"


def test_bearer_token_is_required_when_configured(served_home, monkeypatch):
    monkeypatch.setenv("FEATURELOCK_API_TOKEN", "s3cret")
    with TestClient(create_app(nyc())) as c:
        assert c.get("/health").status_code == 200
        assert c.post("/predict", json=FLIGHT).status_code == 401
        assert c.get("/model", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.post("/predict", json=FLIGHT, headers={"Authorization": "Bearer s3cret"}).status_code == 200
        # issue 13, item 7: with a token set, the schema and its pages need it too
        for page in ("/openapi.json", "/docs", "/redoc"):
            assert c.get(page).status_code == 401, page
            assert c.get(page, headers={"Authorization": "Bearer s3cret"}).status_code == 200, page


def test_issue13_item7_huge_bodies_are_413_unread(client):
    """Before: a 10 MB body was read and parsed. Now it is refused by its declared length, and a
    chunked body without a length is cut at the limit."""
    from featurelock.serving.app import MAX_BODY_BYTES

    huge = b'{"requests": [' + b" " * (10 * 1024 * 1024) + b"]}"
    r = client.post("/predict/batch", content=huge, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["detail"].startswith(
        f"request body of {len(huge)} bytes is over the limit of {MAX_BODY_BYTES}"
    )

    def chunks():
        for _ in range(40):
            yield b" " * 50_000

    r = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "over the limit" in r.json()["detail"]


def test_issue13_item12_the_422_body_is_what_the_openapi_document_says(client):
    """Before: the body had field/message/type, the schema said loc/msg/type."""
    import jsonschema

    document = client.get("/openapi.json").json()
    schema = document["paths"]["/predict"]["post"]["responses"]["422"]["content"]["application/json"][
        "schema"
    ]
    body = client.post("/predict", json={**FLIGHT, "origin": None}).json()
    resolved = {"$ref": schema["$ref"], "components": document["components"]}
    jsonschema.validate(body, resolved)
    assert body["detail"][0]["field"] == "origin"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "origin": st.sampled_from(["JFK", "EWR", "LGA", "BOS", "", "JFKX"]) | JSON,
        "dest": st.sampled_from(["LAX", "ORD", "ZZZ"]) | JSON,
        "carrier": st.sampled_from(["AA", "UA", "ZZ"]) | JSON,
        "tailnum": st.none() | st.text(max_size=8) | JSON,
        "distance": st.floats(allow_nan=True, allow_infinity=True) | JSON,
        "sched_dep_time": st.sampled_from(["2013-12-30T17:00:00-05:00", "2013-12-30T17:00:00", "yesterday"])
        | st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(lambda d: d.isoformat())
        | JSON,
        "prediction_time": st.none()
        | st.sampled_from([DEFAULT_AT.isoformat(), "9999-12-31T23:59:59+14:00"])
        | JSON,
        "flight_id": st.none() | st.text(max_size=70) | JSON,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=FIELDS | JSON)
def test_fuzzed_requests_never_get_a_5xx(client, body):
    # json.dumps writes NaN/Infinity literals: the server must refuse them cleanly too
    r = client.post(
        "/predict", content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    assert r.status_code < 500, (body, r.text)


def test_served_predictions_replay_offline_with_the_same_features_and_probability(client):
    client.post("/predict/batch", json={"requests": [FLIGHT, {**FLIGHT, "tailnum": None}]})
    report = replay(nyc(), log_path(nyc().home, "local"))
    assert report.predictions >= 2
    assert report.mismatches == 0, report.examples


def test_docs_render_from_assets_the_service_serves_itself(client):
    for page, asset in (("/docs", "/static/swagger-ui-bundle.js"), ("/redoc", "/static/redoc.standalone.js")):
        html = client.get(page).text
        assert asset in html
        assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
        served = client.get(asset)
        assert served.status_code == 200 and len(served.content) > 500_000
    assert client.get("/static/swagger-ui.css").status_code == 200


def test_issue13_item6_backdated_requests_are_flagged_and_replayed_like_with_like(client):
    """Before: a request whose prediction time lay before the online store's newest values was served
    with those features missing, and replay counted them as mismatches (the demo then failed)."""
    from datetime import timedelta

    from featurelock.serving.replay import replay_receipts

    early = (DEFAULT_AT - timedelta(days=3)).isoformat()
    receipts = client.post(
        "/predict/batch", json={"requests": [{**FLIGHT, "prediction_time": early}, FLIGHT]}
    ).json()["predictions"]
    late, current = receipts
    assert late["backdated"] is True and late["online_through"] == DEFAULT_AT.isoformat()
    assert current["backdated"] is False
    assert late["missing_features"]  # the hourly carrier statistics at t - 3 days were replaced
    report = replay_receipts(nyc(), receipts)
    assert report.mismatches == 0, report.examples
    assert report.backdated == 1 and report.backdated_missing == len(late["missing_features"])
