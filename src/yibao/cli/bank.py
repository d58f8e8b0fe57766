"""`yibao bank`: the bank simulator (模拟银行), which takes payment files and answers signed return files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yibao.cli.common import out

app = typer.Typer(help="The bank simulator / 模拟银行", no_args_is_help=True)


def start_simulator(settings, *, host: str = "127.0.0.1", port: int = 0):
    """Start the simulator in a thread with its key under the data directory, and point the settings at it."""
    from yibao.services.applications import bank
    from yibao.simulators.bank import BankSimulator, key_pair

    simulator = BankSimulator(key_pair(settings.data_dir / bank.SIMULATOR_DIR), host=host, port=port).start()
    settings.bank_url, settings.bank_public_key = simulator.url, simulator.public_key
    return simulator


@app.command("simulate")
def simulate(host: str = "127.0.0.1", port: int = 8100,
             key_dir: Annotated[Path | None, typer.Option(help="where its key pair lives; default: the data "
                                                                "directory's bank-simulator/")] = None) -> None:
    """Run the bank simulator: the agency sets YIBAO_BANK_URL and YIBAO_BANK_PUBLIC_KEY as printed."""
    from yibao.config import Settings
    from yibao.services.applications import bank
    from yibao.simulators.bank import BankSimulator, key_pair

    directory = key_dir or Settings().data_dir / bank.SIMULATOR_DIR
    simulator = BankSimulator(key_pair(directory), host=host, port=port)
    out.print(f"bank simulator on {simulator.url}  ·  its private key stays in {directory}")
    out.print(f"YIBAO_BANK_URL={simulator.url}\nYIBAO_BANK_PUBLIC_KEY={simulator.public_key}", highlight=False)
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        pass
