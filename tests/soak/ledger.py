"""The CSMS-side ledger of a delivery test: did every transactional message arrive, once, in
order, whatever the network and the process went through?

It reads what a LocalCsms recorded. Content identifies a message (the charge point gives a
retried CALL a new message id). A copy that arrives again is an explained duplicate when the
connection ended between the two copies: the charge point could not know its first copy had
been answered (the answer was lost, or the process died before it deleted the message).
Any other duplicate is a bug.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from supervisor.local_csms import LocalCsms, Received

__all__ = ["Ledger", "LedgerReport", "idempotent_start_transaction"]

TRANSACTIONAL = ("StartTransaction", "MeterValues", "StopTransaction")


def _key(action: str, payload: dict[str, Any]) -> str:
    """What makes two CALLs the same message, whatever their message ids."""
    return action + json.dumps(payload, sort_keys=True)


def idempotent_start_transaction(csms: LocalCsms) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """Make ``csms`` answer a repeated StartTransaction with the id it gave the first copy, as a
    real CSMS must, or an at-least-once resend would open a second transaction."""
    ids: dict[str, int] = {}

    def reply(_cp_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        key = _key("StartTransaction", payload)
        ids.setdefault(key, len(ids) + 1)
        return {"transactionId": ids[key], "idTagInfo": {"status": "Accepted"}}

    csms.set_reply("StartTransaction", reply)
    return reply


@dataclass
class LedgerReport:
    """What the ledger found; ``ok`` when nothing was lost, doubled or out of order."""

    transactions: int = 0
    meter_values: int = 0
    explained_duplicates: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        head = (f"transactions {self.transactions}, meter values {self.meter_values}, "
                f"explained duplicates {self.explained_duplicates}, problems {len(self.problems)}")
        return [head, *(f"  - {p}" for p in self.problems[:20]),
                *([f"  ... and {len(self.problems) - 20} more"] if len(self.problems) > 20 else [])]


class Ledger:
    """Checks what one CSMS received."""

    def __init__(self, received: Sequence[Received], closes: Sequence[float]) -> None:
        self._received = [r for r in received if r.action in TRANSACTIONAL]
        self._closes = sorted(closes)

    def _closed_between(self, earlier: float, later: float) -> bool:
        return any(earlier < at < later for at in self._closes)

    def check(self) -> LedgerReport:
        report = LedgerReport()
        firsts: list[Received] = []
        seen: dict[str, Received] = {}
        for r in self._received:
            key = _key(r.action, r.payload)
            if key in seen:
                if self._closed_between(seen[key].at, r.at):
                    report.explained_duplicates += 1
                else:
                    report.problems.append(f"unexplained duplicate {r.action} {r.payload.get('transactionId', '')}")
                seen[key] = r
                continue
            seen[key] = r
            firsts.append(r)
        self._check_transactions(firsts, report)
        return report

    def _check_transactions(self, firsts: list[Received], report: LedgerReport) -> None:
        started: dict[int, int] = {}  # transaction id -> position of its StartTransaction
        stops: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        meters: dict[int, list[tuple[int, str]]] = defaultdict(list)
        ids = _start_ids(firsts)
        for position, r in enumerate(firsts):
            if r.action == "StartTransaction":
                started[ids[position]] = position
            elif r.action == "StopTransaction":
                stops[r.payload["transactionId"]].append((position, r.payload))
            elif "transactionId" in r.payload:
                for value in r.payload["meterValue"]:
                    meters[r.payload["transactionId"]].append((position, value["timestamp"]))
        report.transactions = len(started)
        report.meter_values = sum(len(v) for v in meters.values())
        for tx, position in started.items():
            if len(stops[tx]) != 1:
                report.problems.append(f"transaction {tx} stopped {len(stops[tx])} times")
                continue
            stop_position, stop = stops[tx][0]
            arrived = [stamp for _, stamp in meters[tx]]
            if any(p < position or p > stop_position for p, _ in meters[tx]):
                report.problems.append(f"transaction {tx}: a MeterValues outside its Start..Stop")
            if arrived != sorted(arrived):
                report.problems.append(f"transaction {tx}: MeterValues out of order")
            sampled = {v["timestamp"] for v in stop.get("transactionData", ())
                       if any(s.get("context", "Sample.Periodic") == "Sample.Periodic" for s in v["sampledValue"])}
            missing = sampled - set(arrived)
            if missing:
                report.problems.append(f"transaction {tx}: {len(missing)} sampled value(s) never arrived")
        for tx in set(stops) | set(meters):
            if tx not in started:
                report.problems.append(f"transaction {tx}: messages for a transaction that never started")


def _start_ids(firsts: list[Received]) -> dict[int, int]:
    """The transaction id each first StartTransaction got, in the order the CSMS handed them out."""
    ids, seen_keys = {}, {}
    for position, r in enumerate(firsts):
        if r.action == "StartTransaction":
            key = _key(r.action, r.payload)
            seen_keys.setdefault(key, len(seen_keys) + 1)
            ids[position] = seen_keys[key]
    return ids
