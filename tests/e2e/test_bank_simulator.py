"""The bank simulator as the demo runs it: its own key file, the agency's copy of the public key only, and the
file protocol the agency's HTTP adapter speaks."""

from __future__ import annotations

import stat

import pytest

from yibao.cli.bank import start_simulator
from yibao.config import Settings
from yibao.domain import bank_files, errors
from yibao.services.applications import bank


@pytest.fixture
def demo_settings(tmp_path):
    settings = Settings(env="dev", data_dir=tmp_path, database_url="sqlite://")
    simulator = start_simulator(settings)
    yield settings
    simulator.stop()


def payment(batch_id: str = "bat_0000000000000001", file_id: str = "fil_0000000000000001") -> bytes:
    return bank_files.payment_text(batch_id=batch_id, file_id=file_id, bank_name="中国工商银行",
                                   business_date="2026-03-02", lines=[{
                                       "line_no": 1, "line_id": "dln_0000000000000001",
                                       "application_id": "app_0000000000000001", "payee_name": "孙丽",
                                       "account_no": "6222020200000000001", "bank_name": "中国工商银行",
                                       "amount_fen": 30_000, "fee_fen": 0, "purpose": "医保个人账户支取"}]).encode()


def test_the_demo_bank_keeps_its_private_key_and_the_agency_verifies_with_the_public_one(demo_settings, tmp_path):
    private = tmp_path / bank.SIMULATOR_DIR / "bank-private.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    port = bank.port(demo_settings)
    port.send(file_id="fil_0000000000000001", content=payment())
    port.send(file_id="fil_0000000000000001", content=payment())  # again: harmless
    signed = port.fetch_return(file_id="fil_0000000000000001")
    assert signed == port.fetch_return(file_id="fil_0000000000000001")  # the same return until a new one is made
    body, signature = bank_files.split_signed(signed)
    fresh = Settings(env="dev", data_dir=tmp_path, database_url="sqlite://")  # a later start reads the key file
    bank.verify(fresh, signed=body, signature=signature)
    returned = bank_files.read_return(body)
    assert (returned.batch_id, returned.file_id) == ("bat_0000000000000001", "fil_0000000000000001")
    assert [(x["line_id"], x["result"]) for x in returned.lines] == [("dln_0000000000000001", "paid")]
    with pytest.raises(errors.ReturnSignatureInvalid):
        bank.verify(fresh, signed=body.replace(b"paid", b"fail"), signature=signature)
    assert port.fetch_return(file_id="fil_unknown") is None


def test_without_a_key_a_return_cannot_be_checked(tmp_path):
    with pytest.raises(errors.BankKeyMissing):
        bank.public_key(Settings(env="prod", data_dir=tmp_path, database_url="sqlite://"))
