"""The sans-I/O HDLC link: public frame vectors, both roles, flow control, faults, back-to-back links."""

import random
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.errors import ProtocolError
from custom_components.dlms_cosem.dlms.hdlc import (
    Control,
    FrameType,
    HdlcFrame,
    HdlcParameters,
    client_address,
    decode_frame,
    server_address,
)
from custom_components.dlms_cosem.dlms.hdlc.link import (
    Acknowledged,
    ApduReceived,
    Connected,
    Disconnected,
    HdlcClientLink,
    HdlcServerLink,
    LinkEvent,
    LinkLost,
    LinkState,
    NotResponding,
    ProposalAnswer,
    ProtocolViolation,
    max_information_length,
    negotiate_parameters,
)
from custom_components.dlms_cosem.dlms.hdlc.negotiation import client_proposal

SNRM = "7ea00802232193bd647e"
UA_PARAMS = "7EA01F21022373E6C781801205019A06019A070400000001080400000001CCA27E"
AARQ = "7EA02C02232110AF9FE6E600601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFFC5E47E"
AARE = (
    "7EA0382102233034E7E6E7006129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F"
    "0400001E1D04C80007B86A7E"
)
AARQ_APDU = bytes.fromhex("601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF")
AARE_APDU = bytes.fromhex(
    "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04C80007"
)

CLIENT = client_address(16)
SERVER = server_address(1, 17)


def frames_of(data: bytes) -> list[HdlcFrame]:
    return [decode_frame(raw) for raw in split_frames(data)]


def split_frames(data: bytes) -> list[bytes]:
    """Cut the link's own output into frames by their length fields."""
    out = []
    position = 0
    while position < len(data):
        length = ((data[position + 1] << 8) | data[position + 2]) & 0x07FF
        out.append(data[position : position + length + 2])
        position += length + 2
    return out


def connected_pair(
    client_parameters: HdlcParameters | None = None, server_parameters: HdlcParameters | None = None
) -> tuple[HdlcClientLink, HdlcServerLink]:
    client = HdlcClientLink(CLIENT, SERVER, client_parameters)
    server = HdlcServerLink(SERVER, server_parameters)
    client.connect()
    assert isinstance(server.receive(client.data_to_send())[0], Connected)
    events = client.receive(server.data_to_send())
    assert isinstance(events[0], Connected)
    return client, server


# --- public vectors -----------------------------------------------------------------------------------


def test_client_snrm_matches_the_public_vector() -> None:
    client = HdlcClientLink(CLIENT, SERVER)
    client.connect()
    assert client.data_to_send().hex() == SNRM
    assert client.state is LinkState.CONNECTING
    assert client.data_to_send() == b""


def test_client_negotiates_from_the_public_ua() -> None:
    client = HdlcClientLink(CLIENT, SERVER)
    client.connect()
    client.data_to_send()
    events = client.receive(bytes.fromhex(UA_PARAMS))
    # The meter offers 154 bytes each way; the client proposed the defaults (empty SNRM): 128 wins.
    assert events == [Connected(HdlcParameters(128, 128, 1, 1))]
    assert client.is_connected


def test_client_aarq_and_aare_match_the_public_vectors() -> None:
    client = HdlcClientLink(CLIENT, SERVER)
    client.connect()
    client.data_to_send()
    client.receive(bytes.fromhex(UA_PARAMS))
    client.send_apdu(AARQ_APDU)
    assert client.data_to_send() == bytes.fromhex(AARQ)
    assert client.busy
    assert client.receive(bytes.fromhex(AARE)) == [ApduReceived(AARE_APDU)]
    assert not client.busy
    assert client.data_to_send() == b""  # the last response frame needs no RR


def test_server_answers_the_public_vectors() -> None:
    server = HdlcServerLink(SERVER, HdlcParameters(154, 154, 1, 1), report_own_limits=True)
    events = server.receive(bytes.fromhex(SNRM))
    assert events == [Connected(HdlcParameters(128, 128, 1, 1))]
    assert server.data_to_send() == bytes.fromhex(UA_PARAMS)
    assert server.client_address == CLIENT
    assert server.receive(bytes.fromhex(AARQ)) == [ApduReceived(AARQ_APDU)]
    assert server.awaiting_answer
    server.send_apdu(AARE_APDU)
    assert server.data_to_send() == bytes.fromhex(AARE)


def test_server_ua_carries_negotiated_values_by_default() -> None:
    server = HdlcServerLink(SERVER, HdlcParameters(154, 154, 1, 1))
    server.receive(bytes.fromhex(SNRM))
    ua = decode_frame(server.data_to_send())
    assert ua.control == Control.ua()
    assert HdlcParameters.decode(ua.information) == HdlcParameters(128, 128, 1, 1)


# --- negotiation --------------------------------------------------------------------------------------


def test_snrm_carries_non_default_parameters() -> None:
    proposed = HdlcParameters(max_info_transmit=512, max_info_receive=256, window_receive=3)
    client = HdlcClientLink(CLIENT, SERVER, proposed)
    client.connect()
    snrm = decode_frame(client.data_to_send())
    assert HdlcParameters.decode(snrm.information) == proposed


def test_negotiation_takes_the_smaller_value_each_way() -> None:
    client_wants = HdlcParameters(512, 256, window_transmit=3, window_receive=2)
    server_can = HdlcParameters(200, 1000, window_transmit=7, window_receive=1)
    client, server = connected_pair(client_wants, server_can)
    assert client.parameters == HdlcParameters(512, 200, 1, 2)
    assert server.parameters == HdlcParameters(200, 512, 2, 1)


def test_ua_without_parameters_means_defaults() -> None:
    client = HdlcClientLink(CLIENT, SERVER, HdlcParameters(1024, 1024, 7, 7))
    client.connect()
    client.data_to_send()
    ua = HdlcFrame(CLIENT, SERVER, Control.ua()).encode()
    assert client.receive(ua) == [Connected(HdlcParameters(128, 128, 1, 1))]


def test_unreadable_ua_parameters_after_a_plain_snrm_mean_defaults() -> None:
    client = HdlcClientLink(CLIENT, SERVER)
    client.connect()
    client.data_to_send()
    ua = HdlcFrame(CLIENT, SERVER, Control.ua(), b"\x81\x80\x05\x05\x09").encode()
    assert client.receive(ua) == [Connected(HdlcParameters(128, 128, 1, 1))]


def test_unreadable_ua_to_a_proposal_is_answered_with_a_plain_snrm() -> None:
    # The meter may be using what it agreed to: only a plain SNRM brings both sides to the defaults.
    client = HdlcClientLink(CLIENT, SERVER, HdlcParameters(1024, 1024, 7, 7))
    server = HdlcServerLink(SERVER, HdlcParameters(512, 512, 7, 7))
    client.connect()
    server.receive(client.data_to_send())
    ua = decode_frame(server.data_to_send())
    cut = HdlcFrame(ua.destination, ua.source, ua.control, ua.information[:-1]).encode()  # group cut short
    assert client.receive(cut) == []
    snrm = client.data_to_send()
    assert decode_frame(snrm).information == b""
    assert server.receive(snrm) == [Connected(HdlcParameters())]
    assert client.receive(server.data_to_send()) == [Connected(HdlcParameters())]
    assert not client.proposal_refused  # it took the proposal; we could not read its answer


def test_negotiated_values_are_clamped_to_what_frames_can_carry() -> None:
    limit = max_information_length(SERVER, CLIENT)
    assert limit == 2047 - 10  # format 2, addresses 2 + 1, control 1, HCS 2, FCS 2
    result = negotiate_parameters(HdlcParameters(5000, 0, 20, 0), HdlcParameters(9000, 9000, 9, 9), limit)
    assert result == HdlcParameters(limit, 1, 7, 1)


def test_client_proposal_is_the_longest_frames_and_the_widest_windows() -> None:
    # The HDLC setup object allows 32..2030 bytes; the frame format would carry 2037 here.
    assert max_information_length(SERVER, CLIENT) == 2037
    assert client_proposal(SERVER, CLIENT) == HdlcParameters(2030, 2030, 7, 7)


def test_meter_answers_the_proposal_with_what_it_can_do() -> None:
    # A meter with 256-byte frames and a 7-frame send window (stated in its UA as negotiated).
    client, server = connected_pair(client_proposal(SERVER, CLIENT), HdlcParameters(256, 256, 7, 1))
    assert client.parameters == HdlcParameters(256, 256, 1, 7)
    assert server.parameters == HdlcParameters(256, 256, 7, 1)
    # A 1000-byte answer comes in 4 frames sent back to back: the client acknowledges none of them.
    client.send_apdu(b"\x01")
    server.receive(client.data_to_send())
    server.send_apdu(bytes(1000))
    answer = server.data_to_send()
    assert [len(frame.information) for frame in frames_of(answer)] == [256, 256, 256, 235]
    assert client.receive(answer) == [ApduReceived(bytes(1000))]
    assert client.data_to_send() == b""


def test_client_sends_a_window_of_request_frames_without_waiting() -> None:
    client, server = connected_pair(client_proposal(SERVER, CLIENT), HdlcParameters(128, 128, 7, 7))
    assert client.parameters == HdlcParameters(128, 128, 7, 7)
    client.send_apdu(bytes(700))  # 703 bytes with the LLC header: 6 frames
    request = frames_of(client.data_to_send())
    assert [frame.control.poll_final for frame in request] == [False] * 5 + [True]
    assert server.receive(b"".join(frame.encode() for frame in request)) == [ApduReceived(bytes(700))]
    server.send_apdu(bytes(300))
    assert client.receive(server.data_to_send()) == [ApduReceived(bytes(300))]
    assert client.data_to_send() == b""
    assert client.frames_resent == server.frames_resent == 0


def _proposing_client() -> HdlcClientLink:
    client = HdlcClientLink(CLIENT, SERVER, client_proposal(SERVER, CLIENT))
    client.connect()
    assert decode_frame(client.data_to_send()).information  # the first SNRM proposes
    return client


@pytest.mark.parametrize("refusal", [Control.dm(), Control.frmr()], ids=["DM", "FRMR"])
def test_refused_proposal_falls_back_to_a_plain_snrm(refusal: Control) -> None:
    client = _proposing_client()
    assert client.receive(HdlcFrame(CLIENT, SERVER, refusal).encode()) == []
    snrm = decode_frame(client.data_to_send())
    assert (snrm.control, snrm.information) == (Control.snrm(), b"")
    assert client.state is LinkState.CONNECTING
    ua = HdlcFrame(CLIENT, SERVER, Control.ua(), HdlcParameters(256, 256, 7, 7).encode()).encode()
    # The plain SNRM proposed the defaults: the meter's larger limits do not apply.
    assert client.receive(ua) == [Connected(HdlcParameters())]
    assert client.proposal_refused
    client.connect()  # later connects do not propose again
    assert decode_frame(client.data_to_send()).information == b""


def test_refusal_of_the_plain_snrm_too_is_link_lost() -> None:
    client = _proposing_client()
    dm = HdlcFrame(CLIENT, SERVER, Control.dm()).encode()
    assert client.receive(dm) == []
    client.data_to_send()
    assert client.receive(dm) == [LinkLost("the meter answered SNRM with DM")]
    assert client.state is LinkState.DISCONNECTED
    assert not client.proposal_refused  # the meter refused the link, not the proposal
    client.connect()
    assert decode_frame(client.data_to_send()).information  # so the next connect proposes again


def test_unanswered_proposal_is_retried_without_one() -> None:
    client = _proposing_client()
    assert client.on_timeout() == []
    assert decode_frame(client.data_to_send()).information == b""
    ua = HdlcFrame(CLIENT, SERVER, Control.ua()).encode()
    assert client.receive(ua) == [Connected(HdlcParameters())]
    assert not client.proposal_refused  # a lost frame is no refusal: the next connect proposes
    client.connect()
    assert decode_frame(client.data_to_send()).information


def _connect_after_one_unanswered_proposal(client: HdlcClientLink) -> None:
    client.connect()
    assert decode_frame(client.data_to_send()).information  # the proposal, which nobody answers
    assert client.on_timeout() == []
    assert decode_frame(client.data_to_send()).information == b""
    assert client.receive(HdlcFrame(CLIENT, SERVER, Control.ua()).encode()) == [Connected(HdlcParameters())]


def test_a_meter_that_ignores_proposals_twice_in_a_row_gets_none_after() -> None:
    client = HdlcClientLink(CLIENT, SERVER, client_proposal(SERVER, CLIENT))
    _connect_after_one_unanswered_proposal(client)
    assert not client.proposal_refused  # once may be a frame lost on the line
    _connect_after_one_unanswered_proposal(client)
    assert client.proposal_refused
    client.connect()
    assert decode_frame(client.data_to_send()).information == b""  # no more timeouts to connect


def test_an_answered_proposal_starts_the_count_again() -> None:
    client = HdlcClientLink(CLIENT, SERVER, client_proposal(SERVER, CLIENT))
    server = HdlcServerLink(SERVER, HdlcParameters(256, 256, 1, 1))
    _connect_after_one_unanswered_proposal(client)
    client.connect()
    server.receive(client.data_to_send())
    assert client.receive(server.data_to_send()) == [Connected(HdlcParameters(256, 256, 1, 1))]
    _connect_after_one_unanswered_proposal(client)
    assert not client.proposal_refused


def test_unanswered_snrm_still_gives_up_after_the_retries() -> None:
    client = HdlcClientLink(CLIENT, SERVER, client_proposal(SERVER, CLIENT), max_retries=2)
    client.connect()
    assert client.on_timeout() == []
    assert client.on_timeout() == []
    assert client.on_timeout() == [NotResponding("no answer to SNRM")]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (ProposalAnswer.DM, Control.dm()),
        (ProposalAnswer.FRMR, Control.frmr()),
        (ProposalAnswer.SILENCE, None),
    ],
)
def test_server_plays_a_meter_that_cannot_take_a_proposal(
    answer: ProposalAnswer, expected: Control | None
) -> None:
    server = HdlcServerLink(SERVER, HdlcParameters(256, 256, 1, 1), proposal_answer=answer)
    proposal = HdlcFrame(SERVER, CLIENT, Control.snrm(), client_proposal(SERVER, CLIENT).encode()).encode()
    assert server.receive(proposal) == []
    reply = server.data_to_send()
    assert (decode_frame(reply).control if reply else None) == expected
    assert server.state is LinkState.DISCONNECTED
    assert server.receive(bytes.fromhex(SNRM)) == [Connected(HdlcParameters())]  # a plain SNRM is fine


@pytest.mark.parametrize("answer", list(ProposalAnswer))
def test_proposing_client_connects_to_every_kind_of_meter(answer: ProposalAnswer) -> None:
    client = HdlcClientLink(CLIENT, SERVER, client_proposal(SERVER, CLIENT))
    server = HdlcServerLink(SERVER, HdlcParameters(256, 256, 1, 1), proposal_answer=answer)
    client.connect()
    events: list[LinkEvent] = []
    for _ in range(3):
        server.receive(client.data_to_send())
        reply = server.data_to_send()
        events = client.on_timeout() if not reply else client.receive(reply)
        if events:
            break
    expected = HdlcParameters(256, 256, 1, 1) if answer is ProposalAnswer.NEGOTIATE else HdlcParameters()
    assert events == [Connected(expected)]
    assert server.parameters == HdlcParameters(expected.max_info_receive, expected.max_info_transmit, 1, 1)
    assert client.proposal_refused == (answer in (ProposalAnswer.DM, ProposalAnswer.FRMR))


# --- segmentation and flow control ---------------------------------------------------------------------


def test_client_segments_and_waits_for_rr_between_segments() -> None:
    client, server = connected_pair()
    apdu = bytes(range(256)) + bytes(44)  # 300 bytes + 3 LLC = 303: 128 + 128 + 47
    client.send_apdu(apdu)
    first = frames_of(client.data_to_send())
    assert len(first) == 1  # window 1: one frame, then wait for RR
    assert first[0].segmented
    assert first[0].control == Control.information(0, 0, poll_final=True)
    assert len(first[0].information) == 128
    assert first[0].information[:3] == bytes.fromhex("E6E600")
    assert server.receive(first[0].encode()) == []
    rr = frames_of(server.data_to_send())
    assert [frame.control for frame in rr] == [Control.receive_ready(1)]
    assert client.receive(rr[0].encode()) == []
    second = frames_of(client.data_to_send())
    assert second[0].control == Control.information(1, 0)
    assert second[0].segmented
    server.receive(second[0].encode())
    client.receive(server.data_to_send())
    third = frames_of(client.data_to_send())
    assert third[0].control == Control.information(2, 0)
    assert not third[0].segmented
    assert len(third[0].information) == 47
    assert server.receive(third[0].encode()) == [ApduReceived(apdu)]
    assert server.data_to_send() == b""  # the answer acknowledges it


def test_server_segments_the_response_and_client_asks_with_rr() -> None:
    client, server = connected_pair()
    client.send_apdu(b"\xc0\x01\xc1")
    server.receive(client.data_to_send())
    response = bytes(i % 251 for i in range(1000))
    server.send_apdu(response)
    received: list[LinkEvent] = []
    rounds = 0
    while not received:
        frames = frames_of(server.data_to_send())
        assert len(frames) == 1
        received = client.receive(frames[0].encode())
        if not received:
            poll = frames_of(client.data_to_send())
            assert [frame.control.frame_type for frame in poll] == [FrameType.RR]
            assert poll[0].control.nr == (rounds + 1) % 8
            server.receive(poll[0].encode())
        rounds += 1
    assert received == [ApduReceived(response)]
    assert rounds == 8  # 1003 bytes in 128-byte segments


def test_windows_larger_than_one_send_several_frames_per_turn() -> None:
    params = HdlcParameters(64, 64, 3, 3)
    client, server = connected_pair(params, params)
    apdu = bytes(400)
    client.send_apdu(apdu)
    batch = frames_of(client.data_to_send())
    assert [frame.control.poll_final for frame in batch] == [False, False, True]
    assert [frame.control.ns for frame in batch] == [0, 1, 2]
    server.receive(b"".join(frame.encode() for frame in batch))
    assert frames_of(server.data_to_send())[0].control == Control.receive_ready(3)


def test_rnr_makes_the_client_wait_and_poll() -> None:
    client, server = connected_pair()
    client.send_apdu(b"\x01\x02")
    server.receive(client.data_to_send())  # awaiting the application's answer
    rnr = HdlcFrame(CLIENT, SERVER, Control.receive_not_ready(1)).encode()
    assert client.receive(rnr) == []
    assert client.data_to_send() == b""
    assert client.on_timeout() == []
    poll = frames_of(client.data_to_send())
    assert poll[0].control == Control.receive_ready(0)  # a poll, not a resend of the request
    server.receive(poll[0].encode())
    assert frames_of(server.data_to_send())[0].control == Control.receive_not_ready(1)
    server.send_apdu(b"\x03")
    assert client.receive(server.data_to_send()) == [ApduReceived(b"\x03")]


def test_unconfirmed_apdu_completes_on_rr() -> None:
    client, server = connected_pair()
    client.send_apdu(b"\x0f\x00", expect_response=False)
    assert server.receive(client.data_to_send()) == [ApduReceived(b"\x0f\x00")]
    server.acknowledge()
    assert client.receive(server.data_to_send()) == [Acknowledged()]
    assert not client.busy


def test_rr_that_acknowledges_the_request_then_the_answer() -> None:
    client, server = connected_pair()
    client.send_apdu(b"\x01")
    server.receive(client.data_to_send())
    # A meter may acknowledge first and answer when polled.
    rr = HdlcFrame(CLIENT, SERVER, Control.receive_ready(1)).encode()
    assert client.receive(rr) == []
    assert client.busy
    client.on_timeout()
    assert frames_of(client.data_to_send())[0].control == Control.receive_ready(0)


# --- retransmission ------------------------------------------------------------------------------------


def test_lost_request_is_resent_identically() -> None:
    client, server = connected_pair()
    client.send_apdu(b"\xc0\x01")
    original = client.data_to_send()
    assert client.on_timeout() == []
    assert client.data_to_send() == original
    assert client.retries == 1
    assert server.receive(original) == [ApduReceived(b"\xc0\x01")]


def test_lost_response_is_resent_by_the_server_on_the_duplicate_request() -> None:
    client, server = connected_pair()
    client.send_apdu(b"\xc0\x01")
    request = client.data_to_send()
    server.receive(request)
    server.send_apdu(b"\xc4\x01")
    response = server.data_to_send()  # lost
    client.on_timeout()
    duplicate = client.data_to_send()
    assert duplicate == request
    assert server.receive(duplicate) == []  # not delivered twice
    assert server.data_to_send() == response
    assert client.receive(response) == [ApduReceived(b"\xc4\x01")]


def test_lost_segment_of_the_response_is_asked_for_again() -> None:
    client, server = connected_pair()
    client.send_apdu(b"\x01")
    server.receive(client.data_to_send())
    server.send_apdu(bytes(300))
    client.receive(server.data_to_send())
    rr = client.data_to_send()
    server.receive(rr)
    server.data_to_send()  # segment 2 lost
    client.on_timeout()
    assert client.data_to_send() == rr
    server.receive(rr)
    resent = frames_of(server.data_to_send())
    assert resent[0].control.ns == 1
    assert server.frames_resent == 1


def test_silent_meter_after_retries() -> None:
    client = HdlcClientLink(CLIENT, SERVER, max_retries=2)
    client.connect()
    snrm = client.data_to_send()
    assert client.on_timeout() == []
    assert client.data_to_send() == snrm
    assert client.on_timeout() == []
    assert client.data_to_send() == snrm
    assert client.on_timeout() == [NotResponding("no answer to SNRM")]
    assert client.data_to_send() == b""
    assert client.state is LinkState.DISCONNECTED


def test_silent_meter_during_an_exchange() -> None:
    client, _server = connected_pair()
    client.max_retries = 1
    client.send_apdu(b"\x01")
    client.data_to_send()
    assert client.on_timeout() == []
    events = client.on_timeout()
    assert len(events) == 1
    assert isinstance(events[0], NotResponding)
    assert client.state is LinkState.DISCONNECTED
    with pytest.raises(ProtocolError):
        client.send_apdu(b"\x02")


def test_progress_resets_the_retry_count() -> None:
    client, server = connected_pair()
    client.max_retries = 1
    client.send_apdu(bytes(300))
    first = client.data_to_send()
    client.on_timeout()
    server.receive(client.data_to_send())
    assert client.retries == 1
    client.receive(server.data_to_send())
    assert client.retries == 0
    del first


def test_timeout_when_idle_does_nothing() -> None:
    client, _server = connected_pair()
    assert client.on_timeout() == []
    assert client.data_to_send() == b""


def test_bad_fcs_is_ignored() -> None:
    client = HdlcClientLink(CLIENT, SERVER)
    client.connect()
    client.data_to_send()
    corrupted = bytearray(bytes.fromhex(UA_PARAMS))
    corrupted[12] ^= 0x01
    assert client.receive(bytes(corrupted)) == []
    assert client.framer.fcs_errors == 1
    assert client.state is LinkState.CONNECTING
    assert client.receive(bytes.fromhex(UA_PARAMS))[0] == Connected(HdlcParameters())


def test_stale_duplicate_response_is_not_delivered_again() -> None:
    client, server = connected_pair()
    client.send_apdu(b"\x01")
    server.receive(client.data_to_send())
    server.send_apdu(b"\x02")
    response = server.data_to_send()
    assert client.receive(response) == [ApduReceived(b"\x02")]
    assert client.receive(response) == []  # idle: ignored
    client.send_apdu(b"\x03")
    client.data_to_send()
    assert client.receive(response) == []  # busy: N(S) is not the expected one
    assert client.frames_out_of_sequence == 1
    # Its F bit gave us the turn: we say which frame we expect.
    assert frames_of(client.data_to_send())[0].control == Control.receive_ready(1)


# --- addresses -----------------------------------------------------------------------------------------


def test_client_ignores_frames_for_other_stations() -> None:
    client = HdlcClientLink(CLIENT, SERVER)
    client.connect()
    client.data_to_send()
    other_server = HdlcFrame(CLIENT, server_address(1, 18), Control.ua()).encode()
    other_client = HdlcFrame(client_address(1), SERVER, Control.ua()).encode()
    own_echo = HdlcFrame(SERVER, CLIENT, Control.snrm()).encode()
    assert client.receive(other_server + other_client + own_echo) == []
    assert client.frames_ignored == 3
    assert client.state is LinkState.CONNECTING


def test_server_ignores_frames_for_other_servers() -> None:
    server = HdlcServerLink(SERVER)
    assert server.receive(HdlcFrame(server_address(1, 18), CLIENT, Control.snrm()).encode()) == []
    assert server.receive(HdlcFrame(server_address(2, 17), CLIENT, Control.snrm()).encode()) == []
    assert server.data_to_send() == b""
    assert server.frames_ignored == 2


def test_server_accepts_its_address_in_four_bytes_and_answers_in_kind() -> None:
    server = HdlcServerLink(SERVER)
    wide = server_address(1, 17, size=4)
    server.receive(HdlcFrame(wide, CLIENT, Control.snrm()).encode())
    ua = decode_frame(server.data_to_send())
    assert ua.source == wide
    assert ua.destination == CLIENT


def test_two_meters_on_one_bus() -> None:
    first = server_address(1, 17)
    second = server_address(1, 18)
    meters = [HdlcServerLink(first), HdlcServerLink(second)]
    clients = [HdlcClientLink(CLIENT, first), HdlcClientLink(CLIENT, second)]

    def bus(data: bytes) -> list[LinkEvent]:
        events: list[LinkEvent] = []
        for station in [*meters, *clients]:
            for event in station.receive(data):
                events.append(event)
                if isinstance(event, ApduReceived) and isinstance(station, HdlcServerLink):
                    station.send_apdu(bytes([station.server_address.physical or 0]) + event.apdu)
        return events

    for client in clients:
        client.connect()
        bus(client.data_to_send())
        bus(b"".join(meter.data_to_send() for meter in meters))
        assert client.is_connected
    assert all(meter.is_connected for meter in meters)
    for client in clients:
        client.send_apdu(b"\xaa")
        bus(client.data_to_send())
        events = bus(b"".join(meter.data_to_send() for meter in meters))
        physical = client.server_address.physical
        assert events == [ApduReceived(bytes([physical or 0, 0xAA]))]


# --- connection management -----------------------------------------------------------------------------


def test_disconnect_with_ua() -> None:
    client, server = connected_pair()
    client.disconnect()
    disc = client.data_to_send()
    assert decode_frame(disc).control == Control.disc()
    assert server.receive(disc) == [Disconnected("the client sent DISC")]
    assert client.receive(server.data_to_send()) == [Disconnected("the meter answered DISC with UA")]
    assert client.state is LinkState.DISCONNECTED
    assert server.state is LinkState.DISCONNECTED


def test_disconnect_answered_with_dm() -> None:
    client = HdlcClientLink(CLIENT, SERVER)
    client.connect()
    client.data_to_send()
    client.receive(bytes.fromhex(UA_PARAMS))
    server = HdlcServerLink(SERVER)  # never connected: answers DISC with DM
    client.disconnect()
    server.receive(client.data_to_send())
    assert client.receive(server.data_to_send()) == [Disconnected("the meter answered DISC with DM")]


def test_disconnect_without_answer_still_disconnects() -> None:
    client, _server = connected_pair()
    client.max_retries = 0
    client.disconnect()
    client.data_to_send()
    assert client.on_timeout() == [Disconnected("no answer to DISC")]


def test_dm_while_connected_is_link_lost() -> None:
    client, _server = connected_pair()
    client.send_apdu(b"\x01")
    client.data_to_send()
    meter_reset = HdlcServerLink(SERVER)  # the meter dropped the link (inactivity time-out)
    meter_reset.receive(HdlcFrame(SERVER, CLIENT, Control.information(0, 0)).encode())
    events = client.receive(meter_reset.data_to_send())
    assert events == [LinkLost("the meter sent DM (not connected)")]
    assert not client.busy
    assert client.state is LinkState.DISCONNECTED


def test_frmr_while_connected_is_link_lost() -> None:
    client, _server = connected_pair()
    frmr = HdlcFrame(CLIENT, SERVER, Control.frmr()).encode()
    assert client.receive(frmr) == [LinkLost("the meter sent FRMR (frame rejected)")]


def test_dm_to_snrm_is_link_lost() -> None:
    client = HdlcClientLink(CLIENT, SERVER)
    client.connect()
    dm = HdlcFrame(CLIENT, SERVER, Control.dm()).encode()
    assert client.receive(dm) == [LinkLost("the meter answered SNRM with DM")]


def test_server_answers_dm_when_disconnected() -> None:
    server = HdlcServerLink(SERVER)
    server.receive(HdlcFrame(SERVER, CLIENT, Control.information(0, 0)).encode())
    assert decode_frame(server.data_to_send()).control == Control.dm()
    server.receive(HdlcFrame(SERVER, CLIENT, Control.receive_ready(0)).encode())
    assert decode_frame(server.data_to_send()).control == Control.dm()
    server.receive(HdlcFrame(SERVER, CLIENT, Control.ui()).encode())
    assert server.data_to_send() == b""


def test_server_rejects_bad_snrm_parameters_with_dm() -> None:
    server = HdlcServerLink(SERVER)
    server.receive(HdlcFrame(SERVER, CLIENT, Control.snrm(), b"\x81\x80\x09").encode())
    assert decode_frame(server.data_to_send()).control == Control.dm()
    assert server.state is LinkState.DISCONNECTED


def test_snrm_again_resets_the_link() -> None:
    client, server = connected_pair()
    client.send_apdu(b"\x01")
    server.receive(client.data_to_send())
    server.send_apdu(b"\x02")
    client.receive(server.data_to_send())
    client.connect()
    server.receive(client.data_to_send())
    client.receive(server.data_to_send())
    client.send_apdu(b"\x03")
    frame = decode_frame(client.data_to_send())
    assert frame.control == Control.information(0, 0)
    assert server.receive(frame.encode()) == [ApduReceived(b"\x03")]


def test_server_reset_after_inactivity() -> None:
    client, server = connected_pair()
    server.reset()
    client.send_apdu(b"\x01")
    server.receive(client.data_to_send())
    assert isinstance(client.receive(server.data_to_send())[0], LinkLost)


def test_send_requires_connected_idle_link() -> None:
    client = HdlcClientLink(CLIENT, SERVER)
    with pytest.raises(ProtocolError):
        client.send_apdu(b"\x01")
    client, _server = connected_pair()
    client.send_apdu(b"\x01")
    with pytest.raises(ProtocolError):
        client.send_apdu(b"\x02")
    with pytest.raises(ProtocolError):
        HdlcServerLink(SERVER).send_apdu(b"\x01")


def test_oversized_apdu_is_dropped_not_truncated() -> None:
    client = HdlcClientLink(CLIENT, SERVER, max_apdu_size=100)
    server = HdlcServerLink(SERVER)
    client.connect()
    server.receive(client.data_to_send())
    client.receive(server.data_to_send())
    client.send_apdu(b"\x01")
    server.receive(client.data_to_send())
    server.send_apdu(bytes(300))
    events: list[LinkEvent] = []
    while not events:
        events = client.receive(server.data_to_send())
        server.receive(client.data_to_send())
    assert events == [ProtocolViolation("APDU larger than 100 bytes dropped")]
    assert not client.busy


def test_missing_llc_header_is_tolerated() -> None:
    client, _server = connected_pair()
    client.send_apdu(b"\x01")
    client.data_to_send()
    bare = HdlcFrame(CLIENT, SERVER, Control.information(0, 1), b"\xc4\x01").encode()
    assert client.receive(bare) == [ApduReceived(b"\xc4\x01")]


# --- back to back, with a lossy line ---------------------------------------------------------------------


def _answer(request: bytes) -> bytes:
    return bytes([len(request) & 0xFF]) + request[::-1] + request[:7]


@dataclass(frozen=True)
class Line:
    client_parameters: HdlcParameters
    server_parameters: HdlcParameters
    loss: float = 0.0
    corruption: float = 0.0
    max_chunk: int = 64


def run_back_to_back(
    rng: random.Random, apdus: list[bytes], line_setup: Line
) -> tuple[list[bytes], list[bytes], int]:
    """Drive both links over a line that drops, corrupts and chops frames; the client's timer fires
    whenever the line is quiet. Returns (server got, client got, timeouts)."""
    client = HdlcClientLink(CLIENT, SERVER, line_setup.client_parameters, max_retries=60)
    server = HdlcServerLink(SERVER, line_setup.server_parameters)
    server_got: list[bytes] = []
    client_got: list[bytes] = []
    timeouts = 0

    def line(data: bytes) -> bytes:
        out = bytearray()
        for frame in split_frames(data):
            roll = rng.random()
            if roll < line_setup.loss:
                continue
            damaged = bytearray(frame)
            if roll < line_setup.loss + line_setup.corruption:
                damaged[rng.randrange(1, len(frame) - 1)] ^= 1 << rng.randrange(8)
            if rng.random() < 0.1:
                out += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 6)))  # line noise
            out += damaged
        return bytes(out)

    def deliver(data: bytes, station: HdlcClientLink | HdlcServerLink) -> list[LinkEvent]:
        events: list[LinkEvent] = []
        position = 0
        while position < len(data):
            size = rng.randint(1, line_setup.max_chunk)
            events.extend(station.receive(data[position : position + size]))
            position += size
        return events

    pending = list(apdus)
    client.connect()
    # Enough turns for every frame each way a few times over (losses resend), bounded all the same.
    smallest = min(
        line_setup.client_parameters.max_info_transmit,
        line_setup.client_parameters.max_info_receive,
        line_setup.server_parameters.max_info_transmit,
        line_setup.server_parameters.max_info_receive,
    )
    frames = sum(len(apdu) + 30 for apdu in apdus) // max(1, smallest) + len(apdus)
    for _ in range(200 + 10 * frames):
        moved = False
        out = client.data_to_send()
        if out:
            moved = True
            for event in deliver(line(out), server):
                if isinstance(event, ApduReceived):
                    server_got.append(event.apdu)
                    server.send_apdu(_answer(event.apdu))
        out = server.data_to_send()
        if out:
            moved = True
            for event in deliver(line(out), client):
                assert not isinstance(event, NotResponding | LinkLost | ProtocolViolation), event
                if isinstance(event, ApduReceived):
                    client_got.append(event.apdu)
        if not client.busy and client.is_connected:
            if not pending:
                break
            client.send_apdu(pending.pop(0))
            continue
        if not moved:
            timeouts += 1
            events = client.on_timeout()
            assert events == [], events
    else:
        pytest.fail("the exchange did not finish")
    return server_got, client_got, timeouts


parameter_sets = st.builds(
    HdlcParameters,
    max_info_transmit=st.integers(8, 300),
    max_info_receive=st.integers(8, 300),
    window_transmit=st.integers(1, 7),
    window_receive=st.integers(1, 7),
)


lines = st.builds(
    Line,
    client_parameters=parameter_sets,
    server_parameters=parameter_sets,
    loss=st.sampled_from([0.0, 0.05, 0.15]),
    corruption=st.sampled_from([0.0, 0.05, 0.1]),
    max_chunk=st.integers(1, 400),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(0, 5000), min_size=1, max_size=4),
    line_setup=lines,
    seed=st.integers(0, 2**32 - 1),
)
def test_back_to_back_links_deliver_every_apdu_exactly_once(
    sizes: list[int], line_setup: Line, seed: int
) -> None:
    rng = random.Random(seed)
    apdus = [bytes(rng.randrange(256) for _ in range(size)) for size in sizes]
    server_got, client_got, timeouts = run_back_to_back(rng, apdus, line_setup)
    assert server_got == apdus
    assert client_got == [_answer(apdu) for apdu in apdus]
    if line_setup.loss == line_setup.corruption == 0.0:
        assert timeouts == 0


def test_back_to_back_clean_line_has_no_retransmissions() -> None:
    rng = random.Random(7)
    apdus = [bytes(range(256)) * 12, b"", b"\x01"]
    server_got, client_got, timeouts = run_back_to_back(rng, apdus, Line(HdlcParameters(), HdlcParameters()))
    assert server_got == apdus
    assert client_got == [_answer(apdu) for apdu in apdus]
    assert timeouts == 0
