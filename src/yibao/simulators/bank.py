"""The bank simulator (模拟银行): a small HTTP server that takes the agency's payment files and answers with
return files signed by its own Ed25519 key, for the demo and the tests.

Its private key is its alone (a key file the agency's service never reads); it publishes the public key. It
speaks the protocol of services.bank.HttpBank:

- `POST /files` with a payment file → 201 `{file_id, batch_id, lines}` (the same file again: 200);
- `POST /files/{file_id}/failures` `{"lines": {"<line_no>": "<bank's reason>"}}` → 200: an operator (or a test)
  marks lines the bank will return failed;
- `POST /files/{file_id}/returns` → 201, a new signed return file (a new return id) for the file as it stands;
- `GET /files/{file_id}/return` → the latest return file made, or the first one made now (every line paid
  but those marked failed); 404 for a file the bank never received.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yibao.domain import bank_files, errors
from yibao.domain.ids import new_id
from yibao.services.applications import bank

PRIVATE_KEY_FILE = "bank-private.pem"
MAX_FILE_BYTES = 16 * 1024 * 1024


def key_pair(directory: Path) -> Ed25519PrivateKey:
    """The simulator's key from its directory, made there on first use (private key file readable by its owner
    only), with the public key written beside it for the agency."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / PRIVATE_KEY_FILE, directory / bank.PUBLIC_KEY_FILE
    if private_path.exists():
        key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{private_path} is not an Ed25519 key")
    else:
        key = Ed25519PrivateKey.generate()
        private_path.touch(mode=0o600)
        private_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return key


@dataclass
class _Received:
    payment: bank_files.PaymentFile
    failed: dict[int, str] = field(default_factory=dict)
    returns: list[bytes] = field(default_factory=list)


class BankSimulator:
    """The simulated bank: its key, the files it received, and (once started) its HTTP server."""

    def __init__(self, key: Ed25519PrivateKey, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._key, self._files, self._lock = key, {}, threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def public_key(self) -> str:
        return bank.encode_public_key(self._key.public_key())

    def start(self) -> BankSimulator:
        self._thread = threading.Thread(target=self._server.serve_forever, name="bank-simulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- what the bank does ---------------------------------------------------------------------------

    def receive(self, content: bytes) -> tuple[bank_files.PaymentFile, bool]:
        """Take a payment file (its trailer checked); (the file, whether it is new)."""
        payment = bank_files.read_payment(content)
        with self._lock:
            known = self._files.get(payment.file_id)
            if known is None:
                self._files[payment.file_id] = _Received(payment)
            return payment, known is None

    def mark_failed(self, file_id: str, failed: dict[int, str]) -> None:
        """The lines the bank will return failed, with its reason (账户已销户, 户名不符, …)."""
        with self._lock:
            self._received(file_id).failed.update({int(n): reason for n, reason in failed.items()})

    def make_return(self, file_id: str) -> bytes:
        """A new signed return file for the payment file: every line paid but those marked failed."""
        with self._lock:
            received = self._received(file_id)
            payment = received.payment
            lines = [{"line_no": line["line_no"], "line_id": line["line_id"],
                      "application_id": line["application_id"], "amount_fen": line["amount_fen"],
                      "result": "failed" if line["line_no"] in received.failed else "paid",
                      "reason": received.failed.get(line["line_no"], "")} for line in payment.lines]
            body = bank_files.return_body(return_id=new_id("ret"), batch_id=payment.batch_id,
                                          file_id=payment.file_id, returned_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), lines=lines)
            signed = body + bank_files.signature_line(self._key.sign(body))
            received.returns.append(signed)
            return signed

    def latest_return(self, file_id: str) -> bytes:
        with self._lock:
            found = self._received(file_id).returns
            if found:
                return found[-1]
        return self.make_return(file_id)

    def _received(self, file_id: str) -> _Received:
        try:
            return self._files[file_id]
        except KeyError:
            raise LookupError(file_id) from None


def _handler(simulator: BankSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "yibao-bank-simulator/1"

        def log_message(self, format, *args) -> None:  # quiet: files hold bank numbers
            pass

        def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: dict) -> None:
            self._answer(status, json.dumps(data, ensure_ascii=False).encode())

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_FILE_BYTES:
                raise ValueError("too large")
            return self.rfile.read(length)

        def _parts(self) -> list[str]:
            return [p for p in self.path.split("?")[0].split("/") if p]

        def do_POST(self) -> None:
            parts = self._parts()
            try:
                if parts == ["files"]:
                    payment, new = simulator.receive(self._body())
                    return self._json(201 if new else 200, {"file_id": payment.file_id, "batch_id": payment.batch_id,
                                                            "lines": len(payment.lines)})
                if len(parts) == 3 and parts[0] == "files" and parts[2] == "failures":
                    marked = json.loads(self._body() or b"{}").get("lines") or {}
                    simulator.mark_failed(parts[1], {int(n): str(reason) for n, reason in marked.items()})
                    return self._json(200, {"file_id": parts[1], "failed": sorted(int(n) for n in marked)})
                if len(parts) == 3 and parts[0] == "files" and parts[2] == "returns":
                    return self._answer(201, simulator.make_return(parts[1]), "text/csv; charset=utf-8")
            except LookupError:
                return self._json(404, {"error": "no such file"})
            except (errors.DomainError, ValueError, AttributeError) as refused:
                return self._json(422, {"error": str(getattr(refused, "en", refused))})
            return self._json(404, {"error": "no such resource"})

        def do_GET(self) -> None:
            parts = self._parts()
            if len(parts) == 3 and parts[0] == "files" and parts[2] == "return":
                try:
                    return self._answer(200, simulator.latest_return(parts[1]), "text/csv; charset=utf-8")
                except LookupError:
                    return self._json(404, {"error": "no such file"})
            return self._json(404, {"error": "no such resource"})

    return Handler
