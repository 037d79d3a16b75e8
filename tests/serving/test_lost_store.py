"""Issue 20, item 4: an online store that lost its data is not served from; receipts count what is
missing; a service may declare the least share of features a request must have."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient

from featurelock.features.feast_repo import feature_store
from featurelock.features.project import Project
from featurelock.scaffold import init_project
from featurelock.serving.app import create_app
from featurelock.serving.materialize import materialize
from featurelock.stores.feast_private import online_store_of
from tests.engine.test_data_home import prepare

pytestmark = pytest.mark.slow  # trains a model


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    from featurelock.training.model import RunConfig
    from featurelock.training.runs import promote, train_run

    root = tmp_path_factory.mktemp("lost")
    project = Project(init_project(root / "shop"), root / "home")
    prepare(project)
    promote(project, train_run(project, RunConfig(service="return_model_v1")).run_id)
    materialize(project, end=project.examples.at)
    return project


def request_body(project: Project) -> dict:
    return dict(project.examples.requests[0])


def test_a_lost_online_store_answers_503_until_it_is_refilled(shop, monkeypatch):
    from featurelock.serving import predictor as predictor_module

    monkeypatch.setattr(predictor_module, "MARKS_EVERY_SECONDS", 0.0)
    with TestClient(create_app(shop)) as client:
        served = client.post("/predict", json=request_body(shop))
        assert served.status_code == 200 and served.json()["missing_count"] == 0
        fs = feature_store(shop)
        online_store_of(fs).write_marker(fs.config, "customer_daily", None)  # the store restarted empty
        lost = client.post("/predict", json=request_body(shop))
        assert lost.status_code == 503
        assert "lost what materialize wrote for view(s) ['customer_daily']" in lost.json()["detail"]
        assert client.get("/health").status_code == 503
        materialize(shop, end=shop.examples.at)  # refills a view whose mark no longer holds
        assert client.post("/predict", json=request_body(shop)).status_code == 200


def test_a_service_may_require_a_share_of_features(shop, monkeypatch):
    strict = dataclasses.replace(shop.service("return_model_v1"), min_present=1.0)
    monkeypatch.setitem(shop.services, "return_model_v1", strict)
    with TestClient(create_app(shop)) as client:
        body = {**request_body(shop), "customer": "nobody"}  # an unknown customer: its feature is missing
        refused = client.post("/predict", json=body)
        assert refused.status_code == 422
        assert "has 0 of its 1 features" in refused.json()["detail"]
        assert "missing: ['visits_7d_v1']" in refused.json()["detail"]
        assert client.post("/predict", json=request_body(shop)).status_code == 200


def test_min_present_must_be_a_share():
    from featurelock.core.errors import DefinitionError
    from featurelock.features.declare import Service

    with pytest.raises(DefinitionError, match=r"min_present=1.5 is not a share; give a number from 0"):
        Service("s", (), (), "p@v1", "m", "b", "2024-01-01T00:00Z", "d", min_present=1.5)
