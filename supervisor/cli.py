"""``ocpp-cp``: the command line of the charge point.

Exit codes (:mod:`supervisor.exit_codes`): 0 after a clean stop, 1 when ``demo --sessions``
found a session that did not start or stop at the CSMS (one line on stderr saying which), 2
for a configuration error (one line on stderr naming the file, the key and the rule), 70 when
the supervisor gave up (restart intensity exceeded; systemd restarts us), 75 after a hard
reset asked by the CSMS (systemd starts us again).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from supervisor.config import ConfigError, load_charge_point_config, load_module_config
from supervisor.exit_codes import EXIT_CONFIG, EXIT_GAVE_UP, EXIT_HARD_RESET

if TYPE_CHECKING:
    from collections.abc import Sequence

    from supervisor.config import ChargePointConfig, ModuleConfig

__all__ = ["EXIT_CONFIG", "EXIT_GAVE_UP", "EXIT_HARD_RESET", "main"]


log = logging.getLogger("ocpp_cp")

WEBSOCKET_SIGNALS = {signal.SIGUSR1: False, signal.SIGUSR2: True}
"""``run``: SIGUSR1 takes the websocket down and keeps it down, SIGUSR2 brings it up again
(``systemctl kill -s USR1 ocpp-cp``); only with EnableExternalWebsocketControl, else logged."""


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE",
                        help="module config file (JSON object of module options); default: all defaults")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="Option=Value",
                        help="override one module option, e.g. --set EvseCount=4 (repeatable)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocpp-cp", description="OCPP-J 1.6 charge point.")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the charge point", description=(
        "Run the charge point against the CSMS of its charge point config until SIGTERM/SIGINT. "
        "With EnableExternalWebsocketControl, SIGUSR1 disconnects the websocket (and keeps it down) "
        "and SIGUSR2 connects it again."))
    _add_config_arguments(run)

    check = commands.add_parser("check-config", help="check a configuration without starting anything",
                                description="Load and validate the module and charge point configs.")
    _add_config_arguments(check)

    demo = commands.add_parser("demo", help="simulated charging sessions with a live table of the EVSEs",
                               description=(
                                   "Run the charge point with simulated EVSEs and scripted charging sessions "
                                   "(plug in, swipe DEMO-<evse>, charge, stop) against the bundled CSMS on "
                                   "loopback, or an external one, and show every EVSE in a live table "
                                   "(plain progress lines when stdout is not a terminal)."))
    demo.add_argument("--evses", type=_evse_count, default=4, metavar="N", help="simulated EVSEs (1..128, default 4)")
    demo.add_argument("--sessions", type=_positive_int, default=None, metavar="K",
                      help="run K sessions on every EVSE, check them at the CSMS, exit 0 if all started and "
                           "stopped (default: repeat until Ctrl-C)")
    demo.add_argument("--csms", metavar="URL", default=None,
                      help="an external CSMS (ws://host:port/path/) instead of the bundled one")
    demo.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                      help="stop after this many seconds (default: run until Ctrl-C)")
    demo.add_argument("--frames", action="store_true",
                      help="print every frame between the charge point and the bundled CSMS, with plain "
                           "progress lines instead of the table")
    demo.add_argument("--set", dest="overrides", action="append", default=[], metavar="Option=Value",
                      help="override one module option (repeatable)")
    demo.add_argument("--charge-seconds", type=float, default=15.0, help=argparse.SUPPRESS)
    _add_trace_commands(commands)
    replay = commands.add_parser("replay", help="replay a recorded trace and compare what the charge point sends",
                                 description=("Feed a trace's recorded inputs through a fresh charge point on a "
                                              "manual clock, the CSMS played by its recorded answers, and compare "
                                              "the frames it sends with the recorded ones. Exit 0 on a match, 1 "
                                              "with the first difference otherwise."))
    replay.add_argument("path", metavar="FILE|DIR", help="a trace segment or a directory of segments")
    _add_sim_command(commands)
    return parser


def _add_sim_command(commands: argparse._SubParsersAction) -> None:
    sim = commands.add_parser("sim", help="the simulated charger as its own process on the MQTT bus", description=(
        "Run the simulated EVSEs as module --module-id on the MQTT broker (docs/mqtt-bus.md) until "
        "SIGTERM/SIGINT: evse_manager_1..N, energy_sink_1..N, system, reservation and auth, using the OCPP "
        "module's auth_validator and auth_provider. Control: ocpp-cp/sim/<evse_id>/<command> with a JSON "
        "object (plug_in, plug_out, swipe {\"id_tag\"}, ev_pause, ev_resume, raise_error {\"type\"}, "
        "clear_error, power_loss). Bad arguments: exit 2 with one line."))
    sim.add_argument("--mqtt", required=True, type=_host_port, metavar="HOST:PORT", help="the MQTT broker")
    sim.add_argument("--evses", type=_evse_count, default=1, metavar="N", help="simulated EVSEs (1..128, default 1)")
    sim.add_argument("--module-id", type=_bus_name, default="sim", metavar="ID",
                     help="our module id on the bus (default sim; MQTT client id ocpp-cp-<ID>)")
    sim.add_argument("--ocpp-module-id", type=_bus_name, default="ocpp", metavar="ID",
                     help="the OCPP module's id (default ocpp)")
    sim.add_argument("--everest-prefix", type=_everest_prefix, default="everest/", metavar="PREFIX",
                     help="EVerest's topic prefix, with its trailing slash (default everest/)")
    sim.add_argument("--system-path", default="", metavar="DIR",
                     help="where the system keeps downloaded and installed firmware "
                          "(default <temp dir>/ocpp-cp-<module id>/system)")
    sim.add_argument("--log-file", default="", metavar="FILE",
                     help="the log the system uploads for upload_logs (default the charge point's message log "
                          "at the default MessageLogPath)")
    sim.add_argument("--certs-path", default="", metavar="DIR",
                     help="serve an implementation 'security' (evse_security) with a certificate store in DIR "
                          "(default: none)")

    def one_line(message: str) -> NoReturn:
        sim.exit(EXIT_CONFIG, f"{sim.prog}: error: {message}\n")

    sim.error = one_line  # type: ignore[method-assign]


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host  # [::1]:1883
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:  # noqa: PLR2004
        msg = f"{text!r} is not HOST:PORT (port 1..65535)"
        raise argparse.ArgumentTypeError(msg)
    return host, int(port)


def _bus_name(text: str) -> str:
    if not text or any(c in text for c in "/+#\0"):
        msg = f"{text!r} cannot be a module id (empty, or with / + #)"
        raise argparse.ArgumentTypeError(msg)
    return text


def _everest_prefix(text: str) -> str:
    if not text.endswith("/") or any(c in text for c in "+#\0") or "//" in text or text.startswith("/"):
        msg = f"{text!r} is not a topic prefix like everest/"
        raise argparse.ArgumentTypeError(msg)
    return text


def _add_trace_commands(commands: argparse._SubParsersAction) -> None:
    trace = commands.add_parser("trace", help="inspect recorded message traces",
                                description="Inspect a trace recorded by the charge point (issue #5).")
    trace_commands = trace.add_subparsers(dest="trace_command", required=True, metavar="TRACE_COMMAND")
    show = trace_commands.add_parser("show", help="print a trace as readable lines", description=(
        "Print a trace (one segment file or a directory of segments) as lines: time, EVSE, direction, "
        "action, payload. Damage in the trace is reported on stderr; the readable records are still shown. "
        "Exit 0, 1 when nothing is readable, 2 when the path does not exist."))
    show.add_argument("path", metavar="FILE|DIR", help="a segment-*.cptrace file or a trace directory")
    show.add_argument("--evse", type=int, default=None, metavar="N", help="only connector/EVSE N")
    show.add_argument("--action", default=None, metavar="A",
                      help="only this action or message type (case-insensitive), e.g. StartTransaction, "
                           "StartTransaction.conf, SessionEvent, plug_in")
    show.add_argument("--since", type=float, default=None, metavar="S", help="from S seconds after the start")
    show.add_argument("--until", type=float, default=None, metavar="S", help="until S seconds after the start")
    show.add_argument("--json", dest="as_json", action="store_true",
                      help="one JSON object per line: the record plus time, evse and action")


def _load(config: str | None, overrides: Sequence[str]) -> tuple[ModuleConfig, ChargePointConfig]:
    options = load_module_config(config, overrides)
    return options, load_charge_point_config(options)


def _run_until_stopped(options: ModuleConfig, config: ChargePointConfig, duration: float | None = None) -> int:
    """Start the charge point, wait for SIGTERM/SIGINT (or ``duration``), stop it cleanly; a hard
    reset or a supervisor that gave up ends the process too, with their exit codes."""
    from supervisor.app import ChargePointApp  # deferred: check-config starts nothing

    from messages.csms import WebsocketControl

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    app = ChargePointApp(options, config)
    for signum, connect in WEBSOCKET_SIGNALS.items():  # EnableExternalWebsocketControl from a shell
        signal.signal(signum, lambda *_, c=connect: app.directory.tell("csms", WebsocketControl(connect=c)))
    app.start()
    log.info("charge point %s started with %s EVSE(s)", config.charge_point_id, options["EvseCount"])
    waiter = threading.Thread(target=lambda: (app.finished.wait(), stop.set()), daemon=True)
    waiter.start()
    stop.wait(duration)
    if app.gave_up.is_set():
        log.critical("exiting: %s", app.give_up_reason)
    elif app.exit_code == EXIT_HARD_RESET:
        log.warning("exiting for the hard reset")
    else:
        log.info("stopping")
    app.stop()
    return app.exit_code or 0


def _evse_count(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 128:
        msg = f"{value} is not within 1..128"
        raise argparse.ArgumentTypeError(msg)
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        msg = f"{value} is not a positive number"
        raise argparse.ArgumentTypeError(msg)
    return value


def _demo(args: argparse.Namespace) -> int:
    from supervisor.demo import DemoSettings, run_demo  # deferred: check-config starts nothing

    return run_demo(DemoSettings(evses=args.evses, duration=args.duration, sessions=args.sessions,
                                 csms_url=args.csms, frames=args.frames, overrides=tuple(args.overrides),
                                 charge_s=args.charge_seconds))


def _sim(args: argparse.Namespace) -> int:
    from supervisor.sim_process import SimSettings, run_sim  # deferred: it starts an actor system

    (host, port) = args.mqtt
    return run_sim(SimSettings(host=host, port=port, evse_count=args.evses, module_id=args.module_id,
                               ocpp_module_id=args.ocpp_module_id, prefix=args.everest_prefix,
                               system_path=args.system_path, log_file=args.log_file,
                               certs_path=args.certs_path))


def _replay(path: str) -> int:
    from supervisor.replay import replay_trace  # deferred: it starts a whole charge point

    if not Path(path).exists():
        print(f"ocpp-cp: no such trace: {path}", file=sys.stderr)
        return EXIT_CONFIG
    result = replay_trace(path, warn=lambda line: print(line, file=sys.stderr))
    print("\n".join(result.report))
    return 0 if result.matched else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, extras = parser.parse_known_args(argv)
    if extras and args.command == "sim":  # one line, as every other bad argument of sim
        print(f"ocpp-cp sim: error: unrecognized arguments: {' '.join(extras)}", file=sys.stderr)
        return EXIT_CONFIG
    if extras:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    if args.command == "demo" and args.frames and args.csms:
        parser.error("--frames shows the bundled CSMS's traffic; it cannot be used with --csms")
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The libraries' own chatter: our actors log every connection event at the right level.
    logging.getLogger("websocket").setLevel(logging.CRITICAL)
    logging.getLogger("websockets").setLevel(logging.WARNING)
    if args.command == "trace":
        from supervisor.trace_cli import show  # deferred: like the other commands, import on use

        return show(args.path, evse=args.evse, action=args.action, since=args.since, until=args.until,
                    as_json=args.as_json, out=sys.stdout)
    if args.command == "replay":
        return _replay(args.path)
    if args.command == "sim":
        return _sim(args)
    try:
        if args.command == "demo":
            return _demo(args)
        options, config = _load(args.config, args.overrides)
        if args.command == "check-config":
            print(f"configuration OK: charge point {config.charge_point_id}, "
                  f"{options['EvseCount']} EVSE(s), CSMS {config.central_system_uri}")
            return 0
        return _run_until_stopped(options, config)
    except ConfigError as err:
        print(f"ocpp-cp: configuration error: {err}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
