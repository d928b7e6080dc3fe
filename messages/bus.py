"""Messages between the MQTT bus actor and the two actors that use it (``docs/mqtt-bus.md``).

The bus actor (:class:`actors.mqtt_bus.MqttBus`) only moves envelopes: it owns the broker
connection, the topics, the command ids and their timeouts. What a var or a command *means*
is decided by its users: :class:`actors.remote_modules.RemoteModules` (our requirements: the
EVSE managers, auth, reservation, system, energy sinks, data transfer) and
:class:`actors.provided_interfaces.ProvidedInterfaces` (our provided interfaces: main,
ocpp_generic, auth_validator, auth_provider, data_transfer, session_cost).

| message | from → to | |
|---|---|---|
| :class:`BusCall` | user → bus | call a command on a requirement's connection |
| :class:`BusCallAnswered` / :class:`BusCallFailed` | bus → caller | its result, or why there is none |
| :class:`BusVar` / :class:`BusError` | bus → RemoteModules | a var or an error of a connected module |
| :class:`BusCommand` | bus → ProvidedInterfaces | a command on one of our implementations |
| :class:`BusReply` | ProvidedInterfaces → bus | the CmdResult of a :class:`BusCommand` |
| :class:`BusPublishVar` | user → bus | publish a var of one of our implementations |
| :class:`BusConnectionChanged`, :class:`BusPeerReady` | published by the bus | the broker link, a peer's ModuleReady |
| :class:`GetBusStats` → :class:`BusStats` | anyone → bus (ask) | the link and the calls in flight |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from messages.payload import Json, freeze

if TYPE_CHECKING:
    from messages.everest import Call

__all__ = [
    "BusCall",
    "BusCallAnswered",
    "BusCallFailed",
    "BusCommand",
    "BusConnectionChanged",
    "BusError",
    "BusPeerReady",
    "BusPublishVar",
    "BusReply",
    "BusStats",
    "BusVar",
    "GetBusStats",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class BusCall:
    """Command (tell → bus): call ``call.cmd`` on the connection of ``call.requirement`` (EVSE
    ``call.evse_id``), with ``call.timeout_s`` on the injected clock. The outcome is told to
    ``reply_to`` as :class:`BusCallAnswered` or :class:`BusCallFailed` with ``correlation``."""

    call: Call
    reply_to: str = ""
    """Actor name; empty: nobody waits (the outcome is only logged by the bus)."""
    correlation: str = ""
    waiter: Any = None
    """A ``pykka.ThreadingFuture`` that the bus completes with the outcome instead of telling
    ``reply_to``: for an actor that must answer an ``ask`` itself (the required data_transfer
    interface) and so cannot read its inbox meanwhile. Set once, by the bus only."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BusCallAnswered:
    """Event (bus → caller): the CmdResult of a :class:`BusCall`."""

    call: Call
    correlation: str
    retval: Json = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "retval", freeze(self.retval))


@dataclass(frozen=True, slots=True, kw_only=True)
class BusCallFailed:
    """Event (bus → caller): a :class:`BusCall` without a result: its error event
    (``Timeout``, ``HandlerException``, ..., or ``NotConnected`` when no connection serves
    the requirement) and a message naming module, implementation and command."""

    call: Call
    correlation: str
    event: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BusVar:
    """Event (bus → RemoteModules): a var published by the connection of ``requirement``."""

    module: str
    impl: str
    name: str
    requirement: str
    evse_id: int
    """1..N for evse_manager and evse_energy_sink connections (their position), else 0."""
    value: Json = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", freeze(self.value))


@dataclass(frozen=True, slots=True, kw_only=True)
class BusError:
    """Event (bus → RemoteModules): a RaiseError / ClearError of any module (global errors)."""

    module: str
    impl: str
    evse_id: int
    """The EVSE of the implementation's connection; 0 when it is no EVSE's (the error's own
    ``origin.mapping.evse`` takes precedence when the receiver decodes it)."""
    cleared: bool
    error: Mapping[str, Json] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "error", freeze(self.error))


@dataclass(frozen=True, slots=True, kw_only=True)
class BusCommand:
    """Command (bus → ProvidedInterfaces): ``cmd`` on our implementation ``impl``, to be
    answered with one :class:`BusReply` (the caller ``origin`` waits on its response topic)."""

    impl: str
    cmd: str
    id: str
    origin: str
    args: Mapping[str, Json] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", freeze(self.args))


@dataclass(frozen=True, slots=True, kw_only=True)
class BusReply:
    """Command (→ bus): publish the CmdResult of a :class:`BusCommand`: ``retval``, or an error
    (``error_event`` one of EVerest's events, e.g. ``MessageParsingFailed``)."""

    command: BusCommand
    retval: Json = None
    error_event: str = ""
    error_message: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "retval", freeze(self.retval))


@dataclass(frozen=True, slots=True, kw_only=True)
class BusPublishVar:
    """Command (→ bus): publish var ``name`` of our implementation ``impl``."""

    impl: str
    name: str
    value: Json = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", freeze(self.value))


@dataclass(frozen=True, slots=True, kw_only=True)
class BusConnectionChanged:
    """Event (published by the bus): connected (every subscription acknowledged, our
    ModuleReady sent) or lost."""

    connected: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class BusPeerReady:
    """Event (published by the bus): module ``module`` sent ModuleReady: it (re)started or came back."""

    module: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetBusStats:
    """Query (ask → :class:`BusStats`): the broker link as the bus sees it now."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BusStats:
    """Reply to :class:`GetBusStats`."""

    connected: bool
    pending: int
    """Calls waiting for their result (sent or not)."""
    unsent: int
    """Of those, the ones held until the broker link is back."""
