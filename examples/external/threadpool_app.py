"""A small Starlette app whose sync endpoint runs on anyio's thread pool, as FastAPI and Starlette run `def`
handlers: each new worker thread that allocates gets a glibc arena of its own (seed 004). Run by uvicorn:

    .venv/bin/python -m uvicorn threadpool_app:app --app-dir examples/external --port 8000

WORKERS sets the pool's size (anyio's default is 40 threads).
"""
import contextlib
import os

import anyio.to_thread
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


def work(request):
    # Sync: Starlette runs it on a worker thread. Blocks of 1 KiB go to glibc's malloc (pymalloc keeps only
    # objects of 512 bytes or less), from the worker thread's own arena; they are freed before the answer.
    blocks = [bytearray(1024) for _ in range(2048)]
    return PlainTextResponse("ok %d\n" % len(blocks))


def health(request):
    return PlainTextResponse("ok\n")


@contextlib.asynccontextmanager
async def lifespan(app):
    anyio.to_thread.current_default_thread_limiter().total_tokens = int(os.environ.get("WORKERS", "40"))
    yield


app = Starlette(routes=[Route("/work", work), Route("/health", health)], lifespan=lifespan)
