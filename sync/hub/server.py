"""The hub's HTTP service (FastAPI): enrol (SPAKE2, two steps), push, pull, health — described by OpenAPI.

Bundles travel as ``application/octet-stream``. Anything wrong with a request is a 4xx with a
JSON ``{"error": code, "reason": ...}`` and stores nothing; the hub answers 5xx only for its own
faults (and 503 when busy). One modest PC serves a township: bodies are read within the limits of
``sync.hub.limits`` before anything is parsed, at most ``max_applying`` bundles are verified and
applied at once (in the thread pool; SQLite has one writer), and everything else waits its turn.
"""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from station.errors import StationError
from sync.bundle import BundleRejected
from sync.enrol_protocol import EnrolLocked
from sync.hub.limits import MAX_PUSH_BODY, BodyGuard, ServeLimits
from sync.hub.service import Hub

MAX_BODY = MAX_PUSH_BODY
OCTETS = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


class Problem(BaseModel):
    error: str
    reason: str


class EnrolStart(BaseModel):
    station_code: str = Field(pattern=r"^[A-Z0-9]{2,12}$")
    msg: str = Field(max_length=100, description="服务站的 SPAKE2 消息(base64)")


class EnrolStarted(BaseModel):
    session: str
    msg: str = Field(description="乡镇的 SPAKE2 消息(base64)")
    box: str = Field(description="乡镇公开信息,用协商出的密钥加密(只有持正确登记码的一方能打开)")


class EnrolFinish(BaseModel):
    session: str = Field(max_length=64)
    box: str = Field(max_length=2048, description="服务站公钥,用协商出的密钥加密")


class EnrolFinished(BaseModel):
    box: str = Field(description="乡镇的确认:已用这对公钥启用该服务站")


class Health(BaseModel):
    status: str
    hub_id: str
    hub_name: str


STATUS = {"unknown_sender": 403, "bad_signature": 403, "wrong_recipient": 421, "too_large": 413, "gap": 409}


def problem(status: int, code: str, reason: str) -> JSONResponse:
    return JSONResponse({"error": code, "reason": reason}, status_code=status)


async def _body(request: Request) -> bytes | JSONResponse:
    body = await request.body()  # BodyGuard has read it within its limits already
    if len(body) > MAX_BODY:
        return problem(413, "too_large", "数据包超过大小上限")
    return body


def create_app(hub: Hub, limits: ServeLimits | None = None) -> FastAPI:
    import asyncio
    limits = limits or ServeLimits()
    app = FastAPI(title="村便民服务站 · 乡镇同步服务", version="1",
                  description="服务站与乡镇便民服务中心之间交换签名、加密的数据包(格式见 sync/SPEC.md)。")
    app.add_middleware(BodyGuard, limits=limits)
    applying = asyncio.Semaphore(limits.max_applying)
    responses = {400: ERROR, 403: ERROR, 408: ERROR, 409: ERROR, 413: ERROR, 421: ERROR, 422: ERROR, 503: ERROR}

    @app.get("/v1/health", response_model=Health)
    def health() -> Health:
        return Health(**hub.health())

    def _enrol(step, request: dict):
        # Known and unknown station codes get the same status codes and shapes (sync/SPEC.md).
        try:
            return step(request)
        except EnrolLocked as exc:
            return problem(429, exc.code, exc.title)
        except StationError as exc:
            return problem(400, exc.code, "; ".join([exc.title] + [d.message for d in exc.details]))

    @app.post("/v1/enroll/start", response_model=EnrolStarted, responses={400: ERROR, 422: ERROR, 429: ERROR})
    def enroll_start(req: EnrolStart):
        """联网登记第一步:SPAKE2 消息交换(一次性登记码从不在网上传送)。"""
        return _enrol(hub.enrol_start, req.model_dump())

    @app.post("/v1/enroll/finish", response_model=EnrolFinished, responses={400: ERROR, 422: ERROR, 429: ERROR})
    def enroll_finish(req: EnrolFinish):
        """联网登记第二步:送上服务站公钥(加密),乡镇启用该站并回复确认。"""
        return _enrol(hub.enrol_finish, req.model_dump())

    async def _exchange(request: Request, pull: bool) -> Response:
        body = await _body(request)
        if isinstance(body, JSONResponse):
            return body
        if pull:
            from sync.bundle import peek
            try:
                h = peek(body)
            except BundleRejected as exc:
                return problem(400, exc.code, exc.reason)
            if h["seq_to"] >= h["seq_from"]:
                return problem(400, "not_empty", "拉取请求不能携带记录:请用 /v1/push 上传")
        try:
            from starlette.concurrency import run_in_threadpool
            async with applying:  # crypto and apply in threads, a few at a time: the rest wait here, holding no thread
                reply = await run_in_threadpool(hub.receive, body, "http")
        except BundleRejected as exc:
            return problem(STATUS.get(exc.code, 400), exc.code, exc.reason)
        return Response(reply, media_type="application/octet-stream")

    @app.post("/v1/push", responses={200: {"content": OCTETS, "description": "回复数据包"}, **responses},
              openapi_extra={"requestBody": {"required": True, "content": OCTETS}})
    async def push(request: Request):
        """上传服务站的数据包;应答为乡镇的回复数据包(确认号 + 发给该站的记录)。"""
        return await _exchange(request, pull=False)

    @app.post("/v1/pull", responses={200: {"content": OCTETS, "description": "回复数据包"}, **responses},
              openapi_extra={"requestBody": {"required": True, "content": OCTETS}})
    async def pull(request: Request):
        """以不含记录的签名数据包拉取乡镇发给该站的记录。"""
        return await _exchange(request, pull=True)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        # FastAPI's own answer echoes the input and fails (a 500) on a body that is not UTF-8.
        fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) or "body" for e in exc.errors()})
        return problem(422, "malformed", "请求格式不对:" + "、".join(fields)[:200])

    @app.exception_handler(StationError)
    async def station_error(request: Request, exc: StationError):
        return problem(400, exc.code, exc.title)

    _schema = app.openapi

    def openapi():
        schema = _schema()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
        return schema
    app.openapi = openapi
    return app
