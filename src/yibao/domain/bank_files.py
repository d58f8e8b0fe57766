"""Bank files (付款文件与回盘文件): the text of a payment file and of the bank's signed return file.

A payment file opens with `FILE,batch id,file id,bank,business date`, then the header and one row per line
(each with its line id), then `TRAILER,count,total,sha256` over everything above it. A return file opens with
`RETURN,return id,batch id,file id,returned at`, then its header and lines, the same trailer, and a last line
`SIGNATURE,ed25519,<base64>`: the bank's signature over every byte above that line. Reading a file checks its
form only; whose signature it carries is checked by the service that holds the bank's public key.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from dataclasses import dataclass

from yibao.domain import errors

PAYMENT_HEADER = ["line_no", "line_id", "application_id", "payee_name", "account_no", "bank_name", "amount_fen",
                  "fee_fen", "purpose"]
RETURN_HEADER = ["line_no", "line_id", "application_id", "amount_fen", "result", "reason"]
FILE, RETURN, TRAILER, SIGNATURE = "FILE", "RETURN", "TRAILER", "SIGNATURE"
ALGORITHM = "ed25519"


@dataclass(frozen=True)
class PaymentFile:
    batch_id: str
    file_id: str
    bank_name: str
    business_date: str
    lines: list[dict]


@dataclass(frozen=True)
class ReturnFile:
    return_id: str
    batch_id: str
    file_id: str
    returned_at: str
    lines: list[dict]


def _csv(rows: list[list]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _trailed(rows: list[list], amount_column: int) -> str:
    body = _csv(rows)
    total = sum(int(r[amount_column]) for r in rows[2:])
    return body + f"{TRAILER},{len(rows) - 2},{total},{hashlib.sha256(body.encode()).hexdigest()}\n"


def payment_text(*, batch_id: str, file_id: str, bank_name: str, business_date: str, lines: list[dict]) -> str:
    """The payment file of a batch: its ids, each line with its line id, and the trailer."""
    rows = [[FILE, batch_id, file_id, bank_name, business_date], PAYMENT_HEADER]
    rows += [[line[k] for k in PAYMENT_HEADER] for line in lines]
    return _trailed(rows, amount_column=PAYMENT_HEADER.index("amount_fen"))


def return_body(*, return_id: str, batch_id: str, file_id: str, returned_at: str, lines: list[dict]) -> bytes:
    """The part of a return file its signature covers (the bank signs these bytes and appends the signature)."""
    rows = [[RETURN, return_id, batch_id, file_id, returned_at], RETURN_HEADER]
    rows += [[line.get(k, "") for k in RETURN_HEADER] for line in lines]
    return _trailed(rows, amount_column=RETURN_HEADER.index("amount_fen")).encode()


def signature_line(signature: bytes) -> bytes:
    return f"{SIGNATURE},{ALGORITHM},{base64.b64encode(signature).decode()}\n".encode()


def invalid(zh: str, en: str) -> errors.ReturnFileInvalid:
    """The refusal of a bank file that is not as its form or its payment file says, with why."""
    return errors.ReturnFileInvalid(reason_zh=zh, reason_en=en)


def _rows(text: str, opening: str, header: list[str]) -> tuple[list[str], list[dict]]:
    """The opening line's fields and the rows of a trailed file; anything wrong refuses the whole file."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) < 3 or not lines[-1].startswith(TRAILER + ","):
        raise invalid("缺少尾行（TRAILER,笔数,金额,校验值）", "the trailer line (TRAILER,count,total,sha256) is missing")
    body = "\n".join(lines[:-1]) + "\n"
    parts = lines[-1].split(",")
    if len(parts) != 4 or hashlib.sha256(body.encode()).hexdigest() != parts[3].strip().lower():
        raise invalid("校验值不符：文件不完整或被改动", "the checksum does not match: the file is incomplete or altered")
    reader = csv.reader(io.StringIO(body))
    first = next(reader, None) or []
    if len(first) != 5 or first[0] != opening:
        raise invalid(f"首行须为 {opening},…", f"the first line is {opening},…")
    if next(reader, None) != header:
        raise invalid(f"表头须为 {','.join(header)}", f"the header is {','.join(header)}")
    rows = []
    for n, values in enumerate(reader, start=3):
        if len(values) != len(header):
            raise invalid(f"第 {n} 行应有 {len(header)} 列", f"line {n} has {len(values)} fields, not {len(header)}")
        rows.append(dict(zip(header, values, strict=True)))
    try:
        count, total = int(parts[1]), int(parts[2])
        amounts = sum(int(r["amount_fen"]) for r in rows)
        for r in rows:
            r["line_no"], r["amount_fen"] = int(r["line_no"]), int(r["amount_fen"])
    except (TypeError, ValueError):
        raise invalid("笔数、序号或金额不是整数", "a count, line number or amount is not a whole number") from None
    if count != len(rows) or total != amounts:
        raise invalid(f"尾行笔数/金额（{count}/{total}）与明细（{len(rows)}/{amounts}）不符",
                   f"the trailer says {count} lines and {total} fen; the lines are {len(rows)} and {amounts}")
    return first, rows


def read_payment(content: bytes) -> PaymentFile:
    """A payment file's ids and lines, its trailer checked."""
    first, rows = _rows(_text(content), FILE, PAYMENT_HEADER)
    return PaymentFile(first[1], first[2], first[3], first[4], rows)


def split_signed(content: bytes) -> tuple[bytes, bytes]:
    """The bytes a return file's signature covers, and the signature; refuses a file with no signature line."""
    cut = content.rstrip(b"\n").rfind(b"\n") + 1
    last = content[cut:].strip().decode("utf-8", "replace")
    if not last.startswith(SIGNATURE + ","):
        raise errors.ReturnUnsigned()
    parts = last.split(",")
    try:
        if len(parts) != 3 or parts[1] != ALGORITHM:
            raise ValueError
        return content[:cut], base64.b64decode(parts[2], validate=True)
    except ValueError:
        raise errors.ReturnSignatureInvalid() from None


def read_return(signed: bytes) -> ReturnFile:
    """A return file's ids and lines, from the bytes its (already checked) signature covers."""
    first, rows = _rows(_text(signed), RETURN, RETURN_HEADER)
    for row in rows:
        row["result"], row["reason"] = row["result"].strip(), row["reason"].strip()
        if row["result"] not in ("paid", "failed"):
            raise invalid(f"第 {row['line_no']} 笔结果须为 paid 或 failed",
                       f"the result of line {row['line_no']} is paid or failed")
    return ReturnFile(first[1], first[2], first[3], first[4], rows)


def _text(content: bytes) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid("文件须为 UTF-8 编码", "the file is not UTF-8") from None
