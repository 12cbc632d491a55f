"""The floor of the mock's design for one row read: a FastAPI app with CORS, one route with a path
parameter, one SQLite row read by id, and a JSON answer; no auth, no validation, no metrics.

The mock's `GET /chatflows/{id}` does this and more (the API-key gate, the spec's validation, Flowise's
shape of the row, the request log and metrics, the body limit). ``benchmarks.throughput`` measures this
app beside the mock, so the distance between the two is what the mock's own work costs and the distance
between this and bare Starlette is what the framework costs.

    python -m benchmarks._floor --port 8124
"""

from __future__ import annotations

import argparse
import sqlite3

import uvicorn
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response

#: The id of the one stored row (`GET /rows/{ROW_ID}`).
ROW_ID = "3f1c2a9e-8d7b-4e6f-9a1b-2c3d4e5f6a7b"


def create_app() -> FastAPI:
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("CREATE TABLE row (id TEXT PRIMARY KEY, name TEXT, flowData TEXT, deployed INTEGER)")
    conn.execute("INSERT INTO row VALUES (?, 'bench', '{\"nodes\":[],\"edges\":[]}', 0)", (ROW_ID,))
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])

    @app.get("/rows/{row_id}")
    async def get_row(row_id: str) -> Response:
        found = conn.execute("SELECT * FROM row WHERE id = ?", (row_id,)).fetchone()
        if found is None:
            return JSONResponse({"message": "not found"}, status_code=404)
        return JSONResponse(dict(found))

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8124)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
