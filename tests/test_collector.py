"""The collector pause around a clusters run restores the caller's state."""

from __future__ import annotations

import gc

from geo_sppa.collector import collector_paused


def test_collector_paused_restores_the_collector_state():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
    try:
        with collector_paused():
            raise ValueError
    except ValueError:
        pass
    assert gc.isenabled()


def test_every_command_runs_with_the_collector_paused_and_restores_it(monkeypatch):
    import click
    from click.testing import CliRunner

    from geo_sppa.cli import main, options

    seen: list[bool] = []
    probe = click.Command("probe-gc", callback=lambda: seen.append(gc.isenabled()))
    monkeypatch.setattr(options, "probe", probe, raising=False)  # a command module
    monkeypatch.setitem(main.COMMANDS, "probe-gc", ("options", "probe", "probe"))
    result = CliRunner().invoke(main.cli, ["probe-gc"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert seen == [False] and gc.isenabled()
