"""A tiny OpenAI-compatible chat server on 127.0.0.1 for tests: scripted replies, recorded requests.

    with FakeOpenAI() as server:
        server.script(Reply("答案 [1]。"), Reply(status=401))
        ChatOpenAI(base_url=server.base_url, ...)

`/v1/chat/completions` answers with a JSON completion, or with server-sent events when the request says
`"stream": true`. Each request takes the next scripted `Reply` (then `default`) and is recorded in `requests`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_KEY = "sk-test-DO-NOT-LEAK-1234567890"


@dataclass
class Reply:
    content: str = ""
    status: int = 200
    body: str | None = None  # sent as is instead of a completion (e.g. garbage JSON)
    delay: float = 0.0  # seconds before the response starts; longer than the client timeout = a hang
    token_delay: float = 0.0  # seconds between streamed chunks
    chunk_chars: int = 3  # streamed content is cut into pieces this long


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict
    at: float = field(default_factory=time.perf_counter)

    @property
    def messages(self) -> list[dict]:
        return self.body.get("messages", [])


def _completion(model: str, content: str) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(model: str, delta: dict, finish: str | None = None) -> bytes:
    data = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _error(status: int, headers: dict[str, str]) -> dict:
    # like the real API, the message echoes the key it got: the tutor must never show it
    key = headers.get("authorization", "").removeprefix("Bearer ")
    return {"error": {"message": f"status {status} for key {key}", "type": "fake_error", "code": str(status)}}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    disable_nagle_algorithm = True  # each streamed chunk leaves at once, as from a real server

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake.requests.append(Recorded(self.path, headers, body))
        reply = fake.next_reply()
        if reply.delay and fake.stopping.wait(reply.delay):
            return
        try:
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, json.dumps(_error(404, headers)))
            elif reply.status != 200:
                self._send(reply.status, json.dumps(_error(reply.status, headers)))
            elif reply.body is not None:
                self._send(200, reply.body)
            elif body.get("stream"):
                self._stream(body.get("model", "fake"), reply)
            else:
                self._send(200, json.dumps(_completion(body.get("model", "fake"), reply.content), ensure_ascii=False))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to do

    def _send(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, model: str, reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(_chunk(model, {"role": "assistant", "content": ""}))
        text, step = reply.content, max(reply.chunk_chars, 1)
        for start in range(0, len(text), step):
            if start and reply.token_delay and self.server.fake.stopping.wait(reply.token_delay):
                return
            self.wfile.write(_chunk(model, {"content": text[start : start + step]}))
            self.wfile.flush()
        self.wfile.write(_chunk(model, {}, "stop"))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpenAI


class FakeOpenAI:
    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply("I cannot tell from these passages.")
        self.replies: deque[Reply] = deque()
        self.requests: list[Recorded] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply | str) -> FakeOpenAI:
        self.replies.clear()
        self.replies.extend(r if isinstance(r, Reply) else Reply(r) for r in replies)
        self.requests.clear()
        return self

    def next_reply(self) -> Reply:
        with self._lock:
            return self.replies.popleft() if self.replies else self.default

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # wakes handlers that are "hanging"
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# The model replies the HTTP tests script, kept here so bench/llm_overhead.py can measure the verifier on them.
# Passages for "dropout为什么能防止过拟合？" are the three paragraphs of 1.3 (lines 13, 15, 17), in line order.
RECORDED_ANSWERS = {
    "good": "Dropout在训练时按比例随机丢弃一部分神经元，是预防过拟合的重要手段 [1]。"
    "减少units的个数相当于降低模型的复杂度，从而防止过拟合 [2]。"
    "每次随机删除units相当于训练不同的网络结构，预测时使用全部units，类似bagging的组合 [3]。",
    "out_of_range": "Dropout随机丢弃一部分神经元来预防过拟合 [1]。它的效果类似bagging [9]。",
    "unsupported": "Dropout随机丢弃一部分神经元来预防过拟合 [1]。Dropout由Hinton在2012年提出，测试时需要把权重乘以保留概率 [2]。",
    "english": "Dropout randomly drops a fraction of neurons during training to prevent overfitting [1]. "
    "Fewer units means a simpler model, which prevents overfitting [2]. "
    "Each step trains a different sub-network, and using all units at prediction time combines them, "
    "like bagging [3].",
}
