"""The prediction service (FastAPI), generated from a project's service. Models and stores are
loaded in the lifespan, not at import.

POST /predict (one entity row), POST /predict/batch (at most MAX_BATCH), GET /health, GET /model,
the OpenAPI schema, and its Swagger UI (/docs) and ReDoc (/redoc) pages, whose scripts and styles
the service serves itself (from the fastapi-offline package): they render with no internet.
The request schema is the service's join keys and request inputs with their types, an optional
row id and ``prediction_time``, with an example taken from the project.
With FEATURELOCK_API_TOKEN set, every endpoint but /health requires ``Authorization: Bearer
<token>`` (compared in constant time).
"""

import hmac
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
)

from featurelock.core.errors import FeaturelockError, StoreUnavailableError
from featurelock.core.settings import Profile
from featurelock.features.declare import JoinKey, RequestInput
from featurelock.features.plan import LookedUp
from featurelock.features.project import Project
from featurelock.serving.log import PredictionLog, log_path
from featurelock.serving.predictor import Predictor, request_from_mapping
from featurelock.training.entity_rows import Request as EntityRequest
from featurelock.training.runs import promoted_run

MAX_BATCH = 100
MAX_BODY_BYTES = 1_000_000  # a full batch is about 30 kB; anything far larger is refused unread
#: Timestamps featurelock computes with (pandas nanoseconds span 1677-09-21 to 2262-04-11).
EARLIEST, LATEST = datetime(1678, 1, 1, tzinfo=UTC), datetime(2262, 1, 1, tzinfo=UTC)


def _supported_time(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(
            f"{value.isoformat()} is outside the supported range {EARLIEST.date()} to {LATEST.date()}"
        )
    return value


Timestamp = Annotated[AwareDatetime, AfterValidator(_supported_time)]


def _not_a_boolean(value: Any) -> Any:
    """A number field takes numbers: ``true`` is not 1 (pydantic's lax mode would coerce it)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is a boolean, not a number")
    return value


Number = Annotated[float, BeforeValidator(_not_a_boolean)]
Integer = Annotated[int, BeforeValidator(_not_a_boolean)]
_PYTHON_TYPES: dict[str, Any] = {"string": str, "int": Integer, "float": Number, "timestamp": Timestamp}


def _key_field(key: JoinKey) -> tuple[Any, Any]:
    kind: Any = str | None if key.nullable else str
    return kind, Field(
        ... if not key.nullable else None,
        min_length=1,
        max_length=key.max_length,
        description=key.description,
    )


def _input_field(spec: RequestInput) -> tuple[Any, Any]:
    extra = " (ISO 8601 with its UTC offset)" if spec.kind == "timestamp" else ""
    return _PYTHON_TYPES[spec.kind], Field(ge=spec.ge, le=spec.le, description=spec.description + extra)


def request_model(
    project: Project,
    keys: tuple[str, ...],
    inputs: dict[str, RequestInput],
    id_column: str,
    lookups: tuple[LookedUp, ...] = (),
) -> type[BaseModel]:
    """The pydantic model of one request: join keys, request inputs, optional id and prediction
    time; a looked-up key is optional (checked against the value looked up when sent)."""
    fields: dict[str, Any] = {k: _key_field(project.join_keys[k]) for k in keys}
    for lookup in lookups:
        key = project.join_keys[lookup.key]
        fields[lookup.key] = (
            str | None,
            Field(
                default=None,
                min_length=1,
                max_length=key.max_length,
                description=f"{key.description} Looked up from {lookup.ref} by {', '.join(lookup.by)} at "
                "prediction_time: leave it out; a value sent must equal it.",
            ),
        )
    fields.update({name: _input_field(spec) for name, spec in inputs.items()})
    fields[id_column] = (
        str | None,
        Field(default=None, max_length=128, description="Row id, echoed in the receipt"),
    )
    fields["prediction_time"] = (
        Timestamp | None,
        Field(default=None, description="When the prediction is made (default: now, read at the API)"),
    )
    examples = [{k: v for k, v in r.items() if k in fields} for r in project.examples.requests[:1]]
    config = ConfigDict(extra="forbid", json_schema_extra={"examples": examples})
    return create_model("PredictRequest", __config__=config, **fields)


def _validation_message(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = err.get("loc", ())
        if err.get("type") == "json_invalid":
            loc = ("body",)  # the position inside the text is not a field
        field = ".".join(str(p) for p in loc if p != "body") or "body"
        out.append({"field": field, "message": f"{field}: {err.get('msg')}", "type": err.get("type")})
    return out


class FieldError(BaseModel):
    field: str = Field(description="the request field, dotted (``requests.0.prediction_time``), or ``body``")
    message: str
    type: str = Field(description="pydantic's error type (``missing``, ``string_too_long``, ...)")


class ValidationFailure(BaseModel):
    detail: list[FieldError]


class ErrorDetail(BaseModel):
    detail: str


#: What every prediction endpoint can answer besides 200, as the OpenAPI document states it.
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorDetail, "description": "missing or wrong bearer token"},
    413: {"model": ErrorDetail, "description": f"body over {MAX_BODY_BYTES} bytes"},
    422: {"model": ValidationFailure, "description": "a field is missing, malformed or out of range"},
    503: {"model": ErrorDetail, "description": "the online store is unreachable"},
}


def create_app(project: Project, run: str | None = None, profile: Profile = Profile.LOCAL) -> FastAPI:
    token = os.environ.get("FEATURELOCK_API_TOKEN") or None
    run = run or promoted_run(project)
    if run is None:
        raise FeaturelockError("No run is promoted; train one and run `featurelock promote RUN`.")
    # the lock is checked once; the model is loaded and its hash checked now, before a server
    # starts: a damaged, swapped or untrusted file is one line from `featurelock serve`, not a
    # traceback from the server's startup
    predictor = Predictor.load(project, run, profile)  # imports scikit-learn (and its OpenMP)
    plan = predictor.plan
    keys, inputs, lookups, id_column = plan.keys, dict(plan.inputs), plan.lookups, plan.id
    Model = request_model(project, keys, inputs, id_column, lookups)

    class BatchRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        requests: list[Model] = Field(min_length=1, max_length=MAX_BATCH)  # type: ignore[valid-type]

    def to_request(body: BaseModel) -> EntityRequest:
        data = body.model_dump()
        data["prediction_time"] = data["prediction_time"] or datetime.now(
            UTC
        )  # the API's "now": its one place
        return request_from_mapping(data, keys, inputs, id_column, tuple(lk.key for lk in lookups))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from threadpoolctl import threadpool_limits

        app.state.predictor = predictor
        threadpool_limits(1)  # then: one-row predictions, OpenMP start-up costs more than it saves
        log = log_path(project.home, profile)
        log.parent.mkdir(parents=True, exist_ok=True)
        app.state.log = PredictionLog(log)
        try:
            yield
        finally:
            app.state.log.close()

    app = FastAPI(
        title=f"featurelock {project.name}: {plan.name}",
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, behind the token when one is set
    )
    app.state.token = token
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    _documentation(app)

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

    def serve(request: Request, bodies: list[BaseModel]) -> list[str]:
        """Predict, log, and return each receipt's JSON (serialized once, for the log and the reply)."""
        predictor: Predictor = request.app.state.predictor
        receipts = predictor.predict([to_request(b) for b in bodies])
        return request.app.state.log.append(receipts)

    @app.post(
        "/predict", dependencies=[Depends(authorize)], responses={200: {"description": "receipt"}, **ERRORS}
    )
    async def predict(request: Request, body: Model) -> Response:  # type: ignore[valid-type]
        return Response(serve(request, [body])[0], media_type="application/json")

    @app.post(
        "/predict/batch",
        dependencies=[Depends(authorize)],
        responses={200: {"description": "receipts"}, **ERRORS},
    )
    async def predict_batch(request: Request, batch: BatchRequest) -> Response:
        body = '{"predictions": [' + ", ".join(serve(request, batch.requests)) + "]}"
        return Response(body, media_type="application/json")

    probe = {k: v for k, v in project.examples.health_request().items() if k in Model.model_fields}
    probe["prediction_time"] = None

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        predictor: Predictor = request.app.state.predictor
        try:
            predictor.check_marks()
            predictor.online([to_request(Model(**probe))])
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
            "population": p.population.definition(),
            "model_sha256": p.model_sha256,
        }

    return app


def _documentation(app: FastAPI) -> None:
    """/docs and /redoc with their assets served from this service (no CDN, no web fonts)."""
    from pathlib import Path

    import fastapi_offline
    from fastapi.staticfiles import StaticFiles

    static = Path(fastapi_offline.__file__).resolve().parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    title = app.title

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(authorize)])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(authorize)])
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{title} - Swagger UI",
            swagger_js_url="/static/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui.css",
            swagger_favicon_url="/static/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False, dependencies=[Depends(authorize)])
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{title} - ReDoc",
            redoc_js_url="/static/redoc.standalone.js",
            redoc_favicon_url="/static/favicon.png",
            with_google_fonts=False,
        )


class _Unauthorized(Exception):
    pass


class BodyLimit:
    """Answer 413 to a request body over ``max_bytes`` before it is parsed, whether it declares its
    length (``Content-Length``) or streams it in chunks; nothing is read past the limit."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send, declared.decode(errors="replace"))
            return
        seen, over = 0, False

        async def limited() -> Any:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request" and not over:
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # stop reading: the app gets an empty end of body
                    over = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded(message: Any) -> None:
            if not over:
                await send(message)
            elif message["type"] == "http.response.start":  # the app answered a cut body: say why
                await self._refuse(send, f"more than {self.max_bytes}")

        await self.app(scope, limited, guarded)

    async def _refuse(self, send: Any, received: str) -> None:
        body = json.dumps(
            {
                "detail": f"request body of {received} bytes is over the limit of {self.max_bytes} bytes; "
                f"send at most {MAX_BATCH} requests per batch."
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


_bearer = HTTPBearer(auto_error=False)


async def authorize(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Require ``Authorization: Bearer <FEATURELOCK_API_TOKEN>`` when a token is configured."""
    token = request.app.state.token
    if token is None:
        return
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise _Unauthorized()


#: How ``featurelock serve --workers N`` hands each worker process what to serve.
WORKER_ENV = {
    "project": "FEATURELOCK_SERVE_PROJECT",
    "home": "FEATURELOCK_SERVE_HOME",
    "run": "FEATURELOCK_SERVE_RUN",
    "profile": "FEATURELOCK_SERVE_PROFILE",
}


def app_from_environment() -> FastAPI:
    """The app of one worker of ``featurelock serve --workers N`` (uvicorn's factory), from the
    variables the parent set: every worker serves the same run of the same project and profile."""
    env = {name: os.environ[var] for name, var in WORKER_ENV.items()}
    return create_app(Project(env["project"], env["home"]), env["run"], env["profile"])
