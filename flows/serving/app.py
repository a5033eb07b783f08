"""The HTTP endpoint: TF Serving's REST API for one model, answered by the stage's version.

    POST /v1/models/<artifact>:predict   {"instances": [...]}  ->  {"predictions": [...]}
    GET  /v1/models/<artifact>           which version serves (TF Serving's status shape)

Each answer names the registered version that computed it in an `X-Model-Version` header.

A bad request (not JSON, a missing column, a wrong type, an undecodable image, a body over the
size limit) is answered 400 with `{"error": "..."}` naming the problem, as TF Serving does;
the server keeps serving. Prediction runs in a worker thread, off the event loop. (FastAPI
reads the handlers' annotations, so its names are imported at the top: import this module
only where it serves.)
"""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from flows.serving.instances import BadRequest, model_inputs
from flows.serving.layout import serving_number
from flows.serving.served import Follower


def make_app(follower: Follower, artifact: str, max_body: int):
    """The FastAPI application serving `follower`'s current version as `artifact`."""
    app = FastAPI(title=f"trainflow: {artifact}", docs_url=None, redoc_url=None)

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def read_body(request: Request) -> object:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_body:
            raise BadRequest(
                f"the body is {int(declared)} bytes, over the limit of {max_body} bytes"
            )
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body:
                raise BadRequest(f"the body is over the limit of {max_body} bytes")
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise BadRequest(f"the body is not JSON: {err}") from None

    def answer(served, body: object) -> dict:
        return {"predictions": served.predict(model_inputs(body, served.signature))}

    @app.post("/v1/models/{name}:predict")
    async def predict(name: str, request: Request):
        if name != artifact:
            return error(404, f"no model '{name}' here; this server serves '{artifact}'")
        served = follower.current  # the version this request is answered by, even mid-swap
        try:
            found = await run_in_threadpool(answer, served, await read_body(request))
        except BadRequest as err:
            return error(400, str(err))
        return JSONResponse(found, headers={"X-Model-Version": served.version})

    @app.get("/v1/models/{name}")
    def status(name: str):
        if name != artifact:
            return error(404, f"no model '{name}' here; this server serves '{artifact}'")
        served = follower.current
        state = {"error_code": "OK", "error_message": ""}
        number = str(serving_number(served.version))
        return {
            "model_version_status": [{"version": number, "state": "AVAILABLE", "status": state}],
            "registry": {"artifact": artifact, "version": served.version, "stage": follower.stage},
        }

    return app


def serve(follower: Follower, artifact: str, port: int, max_body: int) -> None:
    """Serve on 127.0.0.1:`port` until stopped (Ctrl-C), following the stage meanwhile."""
    import uvicorn

    follower.start()
    try:
        uvicorn.run(
            make_app(follower, artifact, max_body), host="127.0.0.1", port=port, log_level="warning"
        )
    finally:
        follower.stop()
