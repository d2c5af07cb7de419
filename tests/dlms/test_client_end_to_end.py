"""The client over real links: the simulator served on TCP (wrapper, HDLC) and on a pty (HDLC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.client import Authentication, ClientSettings, DlmsClient, RegisterValue
from custom_components.dlms_cosem.dlms.errors import MeterNotRespondingError
from custom_components.dlms_cosem.dlms.hdlc import HdlcParameters
from custom_components.dlms_cosem.dlms.hdlc.link import ProposalAnswer
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.simulator.faults import FaultInjector
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_IMPORT,
    LOAD_PROFILE,
    VOLTAGES,
    MeterSecurity,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.dlms.transport.base import ApduTransport
from custom_components.dlms_cosem.dlms.transport.hdlc import HdlcTransport
from custom_components.dlms_cosem.dlms.transport.streams import SerialEndpoint, TcpEndpoint
from custom_components.dlms_cosem.dlms.transport.wrapper import WrapperTransport

NOW = datetime(2024, 3, 10, 12, 7, 30, tzinfo=UTC)
KEYS = SecurityKeys(
    bytes.fromhex("000102030405060708090A0B0C0D0E0F"), bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
)
TIMEOUT = 1.0


def _transport(kind: Transport, address: str, client_address: int, timeout: float = TIMEOUT) -> ApduTransport:
    if kind is Transport.HDLC_PTY:
        return HdlcTransport(
            SerialEndpoint(address, baudrate=115200),
            client_address=client_address,
            server_physical=17,
            response_timeout=timeout,
        )
    host, port = address.rsplit(":", 1)
    if kind is Transport.WRAPPER_TCP:
        return WrapperTransport(
            TcpEndpoint(host, int(port)),
            client_wport=client_address,
            server_wport=1,
            response_timeout=timeout,
        )
    return HdlcTransport(
        TcpEndpoint(host, int(port)),
        client_address=client_address,
        server_physical=17,
        response_timeout=timeout,
    )


@pytest.mark.parametrize("kind", [Transport.WRAPPER_TCP, Transport.HDLC_TCP, Transport.HDLC_PTY])
async def test_hls_gmac_ciphered_poll_and_profile_over_real_links(kind: Transport) -> None:
    security = MeterSecurity(
        authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC, keys=KEYS, require_ciphering=True
    )
    meter = SimulatedMeter(lambda: NOW, security=security)
    async with SimulatorServer(meter, RunnerSettings(transport=kind)) as server:
        public = _transport(kind, server.address, 16)
        settings = ClientSettings(
            client_address=1,
            authentication=Authentication.HLS_GMAC,
            keys=KEYS,
            ciphered=True,
            max_pdu_size=512,
        )
        client = DlmsClient(_transport(kind, server.address, 1), settings)
        try:
            await client.read_frame_counter(public)
            registers = [ACTIVE_ENERGY_IMPORT, *VOLTAGES]
            values = await client.read_registers(registers)
            assert all(isinstance(value, RegisterValue) for value in values), values
            again = await client.read_registers(registers)
            assert [value.value for value in again if isinstance(value, RegisterValue)] == [
                value.value for value in values if isinstance(value, RegisterValue)
            ]
            profile = await client.read_profile(LOAD_PROFILE, start=NOW - timedelta(hours=6), end=NOW)
            assert 23 <= len(profile.rows) <= 25
        finally:
            await client.close()
            await public.close()


@pytest.mark.parametrize("kind", [Transport.WRAPPER_TCP, Transport.HDLC_TCP, Transport.HDLC_PTY])
@pytest.mark.parametrize("fault", ["drop_association", "reboot"])
async def test_lost_association_is_recovered_over_real_links(kind: Transport, fault: str) -> None:
    security = MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=b"12345678")
    meter = SimulatedMeter(lambda: NOW, security=security)
    faults = FaultInjector()
    async with SimulatorServer(meter, RunnerSettings(transport=kind), faults=faults) as server:
        settings = ClientSettings(client_address=1, authentication=Authentication.LLS, password=b"12345678")
        client = DlmsClient(_transport(kind, server.address, 1, timeout=0.5), settings)
        try:
            first = await client.get(ACTIVE_ENERGY_IMPORT, 3)
            getattr(faults, fault)()
            if fault == "reboot" and kind is Transport.WRAPPER_TCP:
                # The request is lost and TCP has no link retries: a timeout, then a fresh start.
                with pytest.raises(MeterNotRespondingError):
                    await client.get(ACTIVE_ENERGY_IMPORT, 3)
            assert await client.get(ACTIVE_ENERGY_IMPORT, 3) == first
            assert await client.get(ACTIVE_ENERGY_IMPORT, 3) == first
        finally:
            await client.close()


async def test_profile_over_hdlc_with_every_answer_to_the_link_proposal() -> None:
    """The same load profile from a meter that takes the proposal, refuses it, or ignores it."""
    limits = HdlcParameters(256, 256, 7, 7)
    rows: dict[ProposalAnswer, list[object]] = {}
    client_frames: dict[ProposalAnswer, int] = {}
    for answer in ProposalAnswer:
        meter = SimulatedMeter(lambda: NOW)
        settings = RunnerSettings(
            transport=Transport.HDLC_PTY, hdlc_parameters=limits, hdlc_proposal_answer=answer
        )
        async with SimulatorServer(meter, settings) as server:
            transport = _transport(Transport.HDLC_PTY, server.address, 16, timeout=0.5)
            assert isinstance(transport, HdlcTransport)
            client = DlmsClient(transport, ClientSettings(client_address=16))
            try:
                profile = await client.read_profile(LOAD_PROFILE, start=NOW - timedelta(hours=6), end=NOW)
                accepted = answer is ProposalAnswer.NEGOTIATE
                assert transport.parameters == (limits if accepted else HdlcParameters())
                assert transport.link.proposal_refused is (answer in (ProposalAnswer.DM, ProposalAnswer.FRMR))
                rows[answer] = list(profile.rows)
                client_frames[answer] = transport.link.frames_sent
            finally:
                await client.close()
    assert 23 <= len(rows[ProposalAnswer.NEGOTIATE]) <= 25
    assert all(found == rows[ProposalAnswer.NEGOTIATE] for found in rows.values())
    # 256-byte frames sent 7 at a time: the client asks for further frames far less often.
    assert client_frames[ProposalAnswer.NEGOTIATE] * 2 < client_frames[ProposalAnswer.DM]


async def test_a_window_longer_than_the_response_timeout_is_waited_for() -> None:
    """The response timer runs from the meter's last frame, not from the request.

    A meter taking 2030-byte frames, 7 to a window, on a line 10 times faster than 9600 baud with a
    response timeout 10 times shorter than the default: one window is longer on the line than the
    timeout. A client that timed out in the middle would poll into the meter's transmission and get
    the window again.
    """
    meter = SimulatedMeter(lambda: NOW)
    settings = RunnerSettings(
        transport=Transport.HDLC_PTY,
        hdlc_parameters=HdlcParameters(2030, 2030, 7, 7),
        max_receive_pdu_size=0xFFFF,
    )
    async with SimulatorServer(meter, settings, faults=FaultInjector(baud=96000)) as server:
        transport = _transport(Transport.HDLC_PTY, server.address, 16, timeout=0.5)
        assert isinstance(transport, HdlcTransport)
        client = DlmsClient(transport, ClientSettings(client_address=16))
        try:
            profile = await client.read_profile(LOAD_PROFILE, start=NOW - timedelta(days=4), end=NOW)
            assert transport.parameters == HdlcParameters(2030, 2030, 7, 7)
            assert 4 * 96 - 1 <= len(profile.rows) <= 4 * 96 + 1
            assert transport.link.frames_accepted >= 7  # at least one whole window of long frames
            # The client polled nobody in the middle of a window, so the meter sent nothing twice.
            assert [session.link.frames_resent for session in server.sessions] == [0]
            assert transport.link.frames_out_of_sequence == 0
            assert transport.link.frames_resent == 0
        finally:
            await client.close()
