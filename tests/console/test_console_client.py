"""The console's API client is the gateway's OpenAPI document as it is now: a change to the
API that the committed client does not have fails here, not in an operator's browser."""

from __future__ import annotations

from pathlib import Path

from support.console_checks import unavailable

from telecast_devenv import console


def test_the_committed_client_matches_the_current_document(tmp_path: Path) -> None:
    problem = console.node_problem()
    if problem:
        unavailable(f"the client cannot be generated: {problem}")
    regenerated = tmp_path / "schema.d.ts"
    console.generate_client(regenerated)
    assert regenerated.read_text() == console.CLIENT.read_text(), (
        "console/src/api/schema.d.ts is not the current OpenAPI document's: run "
        "`make console-client` and commit the result (the type check then shows what the "
        "console must change)"
    )
