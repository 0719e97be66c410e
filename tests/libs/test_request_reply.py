"""The shared request/reply pieces on a real NATS server: the request endpoint every service
answers on, and the requester every sender asks with.

An answer comes back as ``Reply`` data; a ``Problem`` with its code; an outage as
SERVICE_UNAVAILABLE and a bug as INTERNAL_ERROR without internals; a request that is not one
of the endpoint's as VALIDATION_ERROR; a command only when a trusted sender signed it; the
correlation id travels with the request. On the asking side, no endpoint or a silent one is
``Unavailable``, an answer outside the contract ``Broken``.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import nats
import psycopg
import pytest
from nats.aio.client import Client
from prometheus_client import Histogram

from telecast_libs.command_signing import (
    DEV_DISPATCHER_SIGNING_KEY,
    DEV_GATEWAY_SIGNING_KEY,
    DEV_GATEWAY_VERIFY_KEY,
    DISPATCHER,
    GATEWAY,
    CommandSigner,
    CommandVerifier,
    Trusted,
)
from telecast_libs.contracts.base import Wire, decode, encode
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.messages import Request
from telecast_libs.contracts.replies import Reply
from telecast_libs.log import current_correlation_id
from telecast_libs.request_endpoint import RequestEndpoint
from telecast_libs.requester import Broken, Requester, Unavailable
from telecast_libs.subjects import Subjects, subjects_for

LATENCY = Histogram("telecast_test_request_seconds", "Test requests", ["kind"])


class Greet(Request, tag="test.greet"):
    name: str


class Fail(Request, tag="test.fail"):
    how: str


class Greeting(Wire):
    text: str
    correlation_id: str | None = None


class Other(Wire):
    number: int


async def greet(request: Greet) -> Greeting:
    if request.name == "":
        raise Problem("a name is needed", code=ErrorCode.VALIDATION_ERROR)
    return Greeting(text=f"hello {request.name}", correlation_id=current_correlation_id())


async def fail(request: Fail) -> Greeting:
    if request.how == "outage":
        raise psycopg.OperationalError("connection refused")
    raise RuntimeError("a secret internal detail")


@dataclass
class Setup:
    nc: Client
    subjects: Subjects
    gateway: Requester
    dispatcher: Requester


@pytest.fixture(scope="module")
async def setup(nats_url: str) -> AsyncIterator[Setup]:
    subjects = subjects_for(f"rr{secrets.token_hex(4)}")
    nc = await nats.connect(nats_url)
    endpoint = RequestEndpoint(
        nc,
        name="test",
        subjects=[
            subjects.command("test.greet"),
            subjects.query("test.greet"),
            subjects.query("test.fail"),
        ],
        queue="test",
        handlers={Greet: greet, Fail: fail},
        latency=LATENCY,
        unavailable="the test store is unavailable",
        verifier=CommandVerifier(
            subjects.command_prefix, {GATEWAY: Trusted(DEV_GATEWAY_VERIFY_KEY)}
        ),
    )
    await endpoint.start()
    try:
        yield Setup(
            nc,
            subjects,
            Requester(nc, CommandSigner(GATEWAY, DEV_GATEWAY_SIGNING_KEY), 2.0),
            Requester(nc, CommandSigner(DISPATCHER, DEV_DISPATCHER_SIGNING_KEY), 2.0),
        )
    finally:
        await endpoint.stop()
        await nc.drain()


async def test_an_answer_comes_back_with_the_correlation_id(setup: Setup) -> None:
    for subject in (setup.subjects.query("test.greet"), setup.subjects.command("test.greet")):
        answer = await setup.gateway.ask(
            subject, Greet(name="ada"), Greeting, service="test", correlation_id="corr-7"
        )
        assert answer == Greeting(text="hello ada", correlation_id="corr-7")


async def test_a_problem_is_raised_with_its_code(setup: Setup) -> None:
    with pytest.raises(Problem, match="a name is needed") as raised:
        await setup.gateway.ask(
            setup.subjects.query("test.greet"),
            Greet(name=""),
            Greeting,
            service="test",
            correlation_id=None,
        )
    assert raised.value.code == ErrorCode.VALIDATION_ERROR


async def test_an_outage_and_a_bug_are_told_apart_without_internals(setup: Setup) -> None:
    subject = setup.subjects.query("test.fail")
    with pytest.raises(Problem) as outage:
        await setup.gateway.ask(
            subject, Fail(how="outage"), Greeting, service="test", correlation_id=None
        )
    assert outage.value.code == ErrorCode.SERVICE_UNAVAILABLE
    assert str(outage.value) == "the test store is unavailable"
    with pytest.raises(Problem) as bug:
        await setup.gateway.ask(
            subject, Fail(how="bug"), Greeting, service="test", correlation_id=None
        )
    assert bug.value.code == ErrorCode.INTERNAL_ERROR
    assert "secret" not in str(bug.value)


async def test_what_is_not_a_request_of_the_endpoint_is_invalid(setup: Setup) -> None:
    subject = setup.subjects.query("test.greet")
    for payload in (b"not json", b'{"kind":"test.unknown"}', b'{"kind":"test.greet"}'):
        msg = await setup.nc.request(subject, payload, timeout=2)
        reply = decode(msg.data, Reply[Greeting])
        assert not reply.ok and reply.error is not None
        assert reply.error.code == ErrorCode.VALIDATION_ERROR


async def test_a_command_is_carried_out_only_when_signed_by_a_trusted_sender(
    setup: Setup,
) -> None:
    subject = setup.subjects.command("test.greet")
    unsigned = await setup.nc.request(subject, encode(Greet(name="eve")), timeout=2)
    refused = decode(unsigned.data, Reply[Greeting])
    assert refused.error is not None
    assert refused.error.code == ErrorCode.COMMAND_NOT_AUTHENTIC
    with pytest.raises(Problem) as untrusted:
        await setup.dispatcher.ask(
            subject, Greet(name="eve"), Greeting, service="test", correlation_id=None
        )
    assert untrusted.value.code == ErrorCode.COMMAND_NOT_AUTHENTIC
    # A query is not checked: anyone allowed to publish it may ask.
    answer = await setup.dispatcher.ask(
        setup.subjects.query("test.greet"),
        Greet(name="eve"),
        Greeting,
        service="test",
        correlation_id=None,
    )
    assert answer.text == "hello eve"


async def test_no_endpoint_or_a_silent_one_is_unavailable(setup: Setup) -> None:
    with pytest.raises(Unavailable, match="the test service is not running"):
        await setup.gateway.ask(
            setup.subjects.query("test.nobody"),
            Greet(name="x"),
            Greeting,
            service="test",
            correlation_id=None,
        )
    silent = await setup.nc.subscribe(setup.subjects.query("test.silent"))
    try:
        with pytest.raises(Unavailable, match="the test service did not answer in time"):
            await setup.gateway.ask(
                setup.subjects.query("test.silent"),
                Greet(name="x"),
                Greeting,
                service="test",
                correlation_id=None,
                timeout=0.3,
            )
    finally:
        await silent.unsubscribe()


async def test_an_answer_outside_the_contract_is_broken(setup: Setup) -> None:
    with pytest.raises(Broken, match="unexpected shape"):
        await setup.gateway.ask(
            setup.subjects.query("test.greet"),
            Greet(name="ada"),
            Other,
            service="test",
            correlation_id=None,
        )
