"""The prediction service (FastAPI). Models and stores are loaded in the lifespan, not at import.

POST /predict (one flight), POST /predict/batch (at most MAX_BATCH flights), GET /health,
GET /model, and the OpenAPI schema. With FEATURELOCK_API_TOKEN set, every endpoint but /health
requires ``Authorization: Bearer <token>`` (compared in constant time).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from features.errors import FeaturelockError, StoreUnavailableError
from serving.log import PredictionLog
from serving.predictor import Flight, Predictor

MAX_BATCH = 100


class FlightRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    origin: str = Field(min_length=3, max_length=4, description="Departure airport (FAA code)")
    dest: str = Field(min_length=3, max_length=4, description="Destination airport (FAA code)")
    carrier: str = Field(min_length=2, max_length=3, description="Carrier code")
    tailnum: str | None = Field(description="Plane tail number; null when unknown")
    sched_dep_time: AwareDatetime = Field(description="Scheduled departure, ISO 8601 with its UTC offset")
    distance: float = Field(ge=0, le=20_000, description="Route distance in miles")
    flight_id: str | None = Field(default=None, max_length=64)
    prediction_time: AwareDatetime | None = Field(default=None, description="Default: now")

    def to_flight(self) -> Flight:
        return Flight(
            origin=self.origin,
            dest=self.dest,
            carrier=self.carrier,
            tailnum=self.tailnum,
            sched_dep_time=self.sched_dep_time,
            distance=self.distance,
            flight_id=self.flight_id,
            prediction_time=self.prediction_time,
        )


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flights: list[FlightRequest] = Field(min_length=1, max_length=MAX_BATCH)


def _validation_message(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = err.get("loc", ())
        if err.get("type") == "json_invalid":
            loc = ("body",)  # the position inside the text is not a field
        field = ".".join(str(p) for p in loc if p != "body") or "body"
        out.append({"field": field, "message": f"{field}: {err.get('msg')}", "type": err.get("type")})
    return out


def create_app(run: str | None = None, profile: str = "local") -> FastAPI:
    token = os.environ.get("FEATURELOCK_API_TOKEN") or None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from threadpoolctl import threadpool_limits

        app.state.predictor = Predictor.load(run, profile)  # imports scikit-learn (and its OpenMP)
        threadpool_limits(1)  # then: one-row predictions, OpenMP start-up costs more than it saves
        app.state.log = PredictionLog()
        try:
            yield
        finally:
            app.state.log.close()

    app = FastAPI(title="featurelock delay model", version="1", lifespan=lifespan)
    app.state.token = token

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _validation_message(exc)})

    @app.exception_handler(FeaturelockError)
    async def on_error(_: Request, exc: FeaturelockError) -> JSONResponse:
        return JSONResponse(status_code=exc.http_status, content={"detail": str(exc)})

    @app.exception_handler(_Unauthorized)
    async def on_unauthorized(_: Request, exc: _Unauthorized) -> JSONResponse:
        return JSONResponse(
            status_code=401,
            content={"detail": "missing or wrong bearer token"},
            headers={"WWW-Authenticate": "Bearer"},
        )

    def serve(request: Request, flights: list[FlightRequest]) -> list[str]:
        """Predict, log, and return each receipt's JSON (serialized once, for the log and the reply)."""
        predictor: Predictor = request.app.state.predictor
        receipts = predictor.predict([f.to_flight() for f in flights])
        return request.app.state.log.append(receipts)

    @app.post("/predict", dependencies=[Depends(authorize)], responses={200: {"description": "receipt"}})
    def predict(request: Request, flight: FlightRequest) -> Response:
        return Response(serve(request, [flight])[0], media_type="application/json")

    @app.post(
        "/predict/batch", dependencies=[Depends(authorize)], responses={200: {"description": "receipts"}}
    )
    def predict_batch(request: Request, batch: BatchRequest) -> Response:
        body = '{"predictions": [' + ", ".join(serve(request, batch.flights)) + "]}"
        return Response(body, media_type="application/json")

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        predictor: Predictor = request.app.state.predictor
        try:
            predictor.online([Flight("EWR", "ORD", "UA", None, datetime.now(UTC), 719.0)])
        except StoreUnavailableError as exc:
            return JSONResponse(status_code=503, content={"status": "unavailable", "detail": str(exc)})
        return JSONResponse(
            content={
                "status": "ok",
                "run_id": predictor.run_id,
                "model_sha256_verified": predictor.model_sha256,
            }
        )

    @app.get("/model", dependencies=[Depends(authorize)])
    def model(request: Request) -> dict[str, Any]:
        p: Predictor = request.app.state.predictor
        return {
            "run_id": p.run_id,
            "feature_service": p.service.name,
            "features": p.columns,
            "fingerprints": p.fingerprints,
            "population": p.population,
            "model_sha256": p.model_sha256,
        }

    return app


class _Unauthorized(Exception):
    pass


_bearer = HTTPBearer(auto_error=False)


def authorize(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Require ``Authorization: Bearer <FEATURELOCK_API_TOKEN>`` when a token is configured."""
    token = request.app.state.token
    if token is None:
        return
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise _Unauthorized()
