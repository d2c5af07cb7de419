"""A gurux-dlms server (GXDLMSSecureServer) on the IEC 62056-47 TCP wrapper, as an independent test peer.

Run from the repository root as ``python -m tests.dlms.peers.gurux_server [--password PW]``: it
listens on 127.0.0.1 (a free port), prints the port as one line and serves one connection at a time
until its stdin closes. It serves :data:`~tests.dlms.peers.PEER_REGISTERS`, the logical device
name and :data:`~tests.dlms.peers.PEER_DATA`; the public client (16) may associate without
authentication, any other client needs LLS with the password (when one is given).
gurux-dlms is GPL and only a test dependency: it is driven here, never copied into the project.

gurux-dlms 1.0.203 as published needs these work-arounds, all confined to this script:
- ``GXDLMSServer.handleRequest`` calls ``GXServerReply.setReply`` and ``getConnectionInfo``, which
  ``GXServerReply`` lacks: :class:`_Reply` adds them;
- ``GXDLMSLNCommandHandler.handleGetRequest`` calls ``server.notifyRead()`` and ``server.onPostRead()``
  (no arguments), and ``server.setTransaction``/``getTransaction``, which the server lacks:
  :class:`GuruxMeter` adds them;
- ``GXDLMSAssociationLogicalName.getObjects`` reads ``ValueEventArgs.isSkipMaxPduSize``, which is
  named ``skipMaxPduSize``: :func:`patch_gurux` adds an alias property to ``ValueEventArgs``;
- ``ValueEventArgs`` takes the server but never keeps it in ``.server``, so the object list would carry
  empty access rights: ``onGetAttributeAccess`` (called with the same arguments first) sets it;
- ``GXDLMSLNCommandHandler.getRequestNextDataBlock`` reads ``settings.gbtWndowSize`` (a typo of
  ``gbtWindowSize``) and calls ``settings.getMaxPduSize()``, which does not exist, so every
  GET-Request-Next failed: :func:`patch_gurux` adds both to ``GXDLMSSettings``; it then calls
  ``GXDLMSLongTransaction.setData`` (missing too) to keep what is left to send: :func:`_set_data`;
  and the GET-Request-Normal handler stores one ``ValueEventArgs`` as the transaction's targets where
  the next-block handler iterates a list: ``setTransaction`` wraps it in a list;
- ``GXDLMSSettings`` keeps the request's invoke id in ``invokeID`` but answers that do not carry it
  themselves (GET errors such as object-undefined) take ``invokeId``, which stays 1: the answer would
  name another request. :func:`patch_gurux` keeps the two equal;
- when a handler raises, its error path fails too (``receivedData.size(0)``, ``reportError`` on a
  PDU without data): the connection is closed and the error written to stderr instead;
- ``GXDLMSServer.initialize`` appends the whole object collection as *one* element of an empty
  association object list, so the list is filled here, object by object, before ``initialize``;
- its SNRM answer (UA) is malformed, so it is a peer on the TCP wrapper only.
"""

from __future__ import annotations

import argparse
import select
import socket
import sys
import threading
import time
import traceback
from typing import Any

from gurux_dlms import (
    GXDLMSConnectionEventArgs,
    GXDLMSLongTransaction,
    GXDLMSSettings,
    GXServerReply,
    ValueEventArgs,
)
from gurux_dlms.enums import AccessMode, Authentication, DataType, MethodAccessMode, SourceDiagnostic, Unit
from gurux_dlms.enums.InterfaceType import InterfaceType
from gurux_dlms.objects import GXDLMSAssociationLogicalName, GXDLMSData, GXDLMSRegister
from gurux_dlms.secure import GXDLMSSecureServer

from tests.dlms.peers import (
    PEER_DATA,
    PEER_LOGICAL_DEVICE_NAME,
    PEER_PUBLIC_CLIENT,
    PEER_REGISTERS,
    PEER_SERVER_WPORT,
)

READ_SIZE = 4096
#: How often the loops look at the stop flag (s).
POLL_INTERVAL = 0.05
#: gurux's result code read-write-denied.
READ_WRITE_DENIED = 3


def _set_data(transaction: Any, remaining: Any) -> None:
    """Keep the bytes of a long GET not sent yet (from the buffer's read position on)."""
    transaction.data.clear()
    transaction.data.set(remaining)


def _update_invoke_ids(settings: Any, value: int, update: Any = GXDLMSSettings.updateInvokeId) -> None:
    """Take the request's invoke id under both of the names gurux reads it by."""
    update(settings, value)
    settings.invokeId = settings.invokeID


def patch_gurux() -> None:
    """Add what gurux-dlms 1.0.203 calls under names it never defines (see the module docstring)."""
    ValueEventArgs.isSkipMaxPduSize = property(lambda self: self.skipMaxPduSize)
    GXDLMSSettings.updateInvokeId = _update_invoke_ids
    GXDLMSSettings.gbtWndowSize = property(lambda self: self.gbtWindowSize)
    GXDLMSSettings.getMaxPduSize = lambda self: self.maxPduSize
    GXDLMSLongTransaction.setData = _set_data


class _Reply(GXServerReply):  # type: ignore[misc]
    """``GXServerReply`` with the accessors ``GXDLMSServer.handleRequest`` calls."""

    def setReply(self, value: Any) -> None:
        self.reply = value

    def getConnectionInfo(self) -> Any:
        return self.connectionInfo


class GuruxMeter(GXDLMSSecureServer):  # type: ignore[misc]
    """A gurux server with fixed objects; LLS with ``password`` when given, else no authentication."""

    def __init__(self, password: bytes | None) -> None:
        association = GXDLMSAssociationLogicalName()
        super().__init__(association, InterfaceType.WRAPPER)
        self._password = password
        self.items.append(association)
        for spec in PEER_REGISTERS:
            register = GXDLMSRegister(spec.logical_name)
            register.value = spec.value
            register.setDataType(2, DataType(spec.tag))
            register.scaler = 10.0**spec.scaler  # gurux keeps the multiplier, not the exponent
            register.unit = Unit(spec.unit)
            self.items.append(register)
        device_name = GXDLMSData(PEER_LOGICAL_DEVICE_NAME[0])
        device_name.value = PEER_LOGICAL_DEVICE_NAME[1]
        device_name.setDataType(2, DataType.OCTET_STRING)
        self.items.append(device_name)
        for data in PEER_DATA:
            item = GXDLMSData(data.logical_name)
            item.value = data.value
            item.setDataType(2, DataType(data.tag))
            self.items.append(item)
        # gurux would append the whole collection as one element of an empty list: fill it here.
        for item in self.items:
            association.objectList.append(item)
        self.transaction = None
        self.initialize()

    # --- what gurux 1.0.203 calls but does not define --------------------------------------------------

    def notifyRead(self) -> None:
        """Called by the GET handler before a value is read; nothing to prepare."""

    def setTransaction(self, value: Any) -> None:
        if value is not None and isinstance(value.targets, ValueEventArgs):
            value.targets = [value.targets]  # the next-block handler iterates the targets
        self.transaction = value

    def getTransaction(self) -> Any:
        return self.transaction

    # --- GXDLMSSecureServer hooks ------------------------------------------------------------------

    def isTarget(self, serverAddress: int, clientAddress: int) -> bool:  # noqa: N803
        return bool(serverAddress == PEER_SERVER_WPORT)

    def onValidateAuthentication(self, authentication: int, password: Any) -> int:
        diagnostic = SourceDiagnostic.NOT_RECOGNISED
        if authentication == Authentication.NONE:
            public = self._password is None or self.settings.clientAddress == PEER_PUBLIC_CLIENT
            diagnostic = SourceDiagnostic.NONE if public else SourceDiagnostic.MECHANISM_NAME_REGUIRED
        elif authentication == Authentication.LOW and self._password is not None:
            right = password is not None and bytes(password) == self._password
            diagnostic = SourceDiagnostic.NONE if right else SourceDiagnostic.AUTHENTICATION_FAILURE
        return int(diagnostic)

    def onFindObject(self, objectType: Any, sn: int, ln: str) -> None:  # noqa: N803
        return None

    def onGetAttributeAccess(self, arg: Any) -> int:
        if arg.server is None:
            arg.server = self  # gurux drops it; the object list needs it for the access rights
        return int(AccessMode.READ)

    def onGetMethodAccess(self, arg: Any) -> int:
        return int(MethodAccessMode.NO_ACCESS)

    def onPreGet(self, args: Any) -> None:
        pass

    def onPostGet(self, args: Any) -> None:
        pass

    def onPreRead(self, args: Any = None) -> None:
        pass

    def onPostRead(self, args: Any = None) -> None:
        pass

    def onPreWrite(self, args: Any) -> None:
        for arg in args:
            arg.error = READ_WRITE_DENIED  # the peer is read-only

    def onPostWrite(self, args: Any) -> None:
        pass

    def onPreAction(self, args: Any) -> None:
        pass

    def onPostAction(self, args: Any) -> None:
        pass

    def onConnected(self, connectionInfo: Any) -> None:  # noqa: N803
        pass

    def onInvalidConnection(self, connectionInfo: Any) -> None:  # noqa: N803
        pass

    def onDisconnected(self, connectionInfo: Any) -> None:  # noqa: N803
        pass


def serve_connection(
    meter: GuruxMeter, connection: socket.socket, stop: threading.Event, idle_timeout: float
) -> None:
    """Feed the bytes of one client to gurux and send back what it answers, until it goes or is idle."""
    meter.reset()
    idle_since = time.monotonic()
    while not stop.is_set() and time.monotonic() - idle_since < idle_timeout:
        ready, _, _ = select.select([connection], [], [], POLL_INTERVAL)
        if not ready:
            continue
        try:
            data = connection.recv(READ_SIZE)
        except OSError:
            return
        if not data:
            return
        idle_since = time.monotonic()
        reply = _Reply(bytearray(data))
        reply.connectionInfo = GXDLMSConnectionEventArgs()
        try:
            meter.handleRequest(reply)
        except Exception as exc:
            traceback.print_exception(exc, file=sys.stderr)
            return
        if reply.reply:
            connection.sendall(bytes(reply.reply))


def _stdin_closed(stop: threading.Event) -> None:
    sys.stdin.read()
    stop.set()


def main() -> int:
    """Listen, print the port, serve clients one after another until stdin closes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--password", help="LLS password (needed by every client but the public one)")
    parser.add_argument("--idle-timeout", type=float, default=10.0, help="drop a silent client after (s)")
    args = parser.parse_args()
    patch_gurux()
    meter = GuruxMeter(args.password.encode() if args.password else None)
    stop = threading.Event()
    threading.Thread(target=_stdin_closed, args=(stop,), daemon=True).start()
    with socket.create_server(("127.0.0.1", 0)) as server:
        print(server.getsockname()[1], flush=True)
        while not stop.is_set():
            ready, _, _ = select.select([server], [], [], POLL_INTERVAL)
            if ready:
                connection, _ = server.accept()
                with connection:
                    serve_connection(meter, connection, stop, args.idle_timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
