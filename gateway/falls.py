"""Falls: from a detection (a wearable's accelerometer or a fall radar) to a fall alarm, with
the resident's chance to say "I'm all right".

A detection creates the fall alarm at once and commits it to the outbox *held* for the cancel
window (default 30 s): durable from the first moment, so a gateway that crashes during the
window still sends it afterwards, and, restarted, reads the open holds back so the resident can
still cancel; sent when the window closes unless the resident cancels it.
Meanwhile the device buzzes a prompt. A key press on the device that detected the fall
cancels it; for a radar, which has no key, a press on any of the home's call buttons does.
A radar that reports ``fall`` (certain) ends the hold at once.

Wearable alarms carry the acceleration trace around the impact, for the console's plot.

A wearable that stops sending (broken, out of range, flat) right after a weak impact must not
take the fall with it: once its samples have been silent for ``STREAM_END_S``, a few seconds
beyond the detector's ``confirm_s``, its stream is ended (:meth:`FallFlow.end_silent_streams`)
and a fall still waiting for its confirmation is decided on the last sample it sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from pydantic import ValidationError

from edge.events import DeviceRef, FallReported, SamplesReceived
from gateway.detect.fall import FallEvent
from gateway.detect.resample import STREAM_END_S, TimeOrderError, WearerStream
from gateway.fall_trace import RawSamples
from gateway.outbox import Outbox
from protocol import AlarmBody, AlarmKind, AlarmMessage, Channel, Origin, encode
from protocol.messages import DEFAULT_PRIORITY, AccelTrace

log = logging.getLogger(__name__)


@dataclass
class _Wearable:
    """A serial wearable's detector and what its alarms need: the raw samples for the trace,
    the offset from its clock to the gateway's, and when it was last heard."""

    device: DeviceRef
    stream: WearerStream = field(default_factory=WearerStream)
    raw: RawSamples = field(default_factory=RawSamples)
    clock_offset: float = 0.0  # gateway time minus device time, at its latest batch
    heard_at: float = 0.0  # gateway time of its latest batch


@dataclass(frozen=True)
class HeldFall:
    alarm_id: str
    device: DeviceRef
    until: float  # gateway clock


class FallFlow:
    """Owns the detector of every wearable of the home and the falls held for cancelling."""

    def __init__(
        self,
        gateway_id: str,
        home_id: str,
        outbox: Outbox,
        *,
        cancel_window_s: float,
        clock: Callable[[], float],
        prompt: Callable[[DeviceRef | None, bool], None],
    ) -> None:
        self.gateway_id = gateway_id
        self.home_id = home_id
        self.outbox = outbox
        self.cancel_window_s = cancel_window_s
        self._clock = clock
        self._prompt = prompt  # (device or None for "every call button", on/off)
        self._wearables: dict[str, _Wearable] = {}  # by device id, until its stream ends
        self.held: dict[str, HeldFall] = {}  # by the id of the device that detected it
        self._radar_status: dict[str, str] = {}  # last none / maybe / fall per radar
        self._restore_holds()

    def _restore_holds(self) -> None:
        """Take back the possible falls a previous run left held in the outbox.

        The alarm itself is durable from its first moment (committed held): after a restart
        the outbox sends it when its window ends, or at once if the window has passed, and
        only once, since it is one row. What a restart loses is this run's memory that the
        resident may still cancel it, so a press would be a new call instead of "I'm all
        right"; that memory is rebuilt here from the outbox, the one durable record.
        """
        for item, until in self.outbox.holds(self._clock()):
            if item.channel != Channel.ALARM.value or item.device_id is None:
                continue
            try:
                alarm = AlarmMessage.model_validate_json(item.payload)
            except ValidationError as err:
                # Written by an older release or damaged: not cancellable now, but the outbox
                # still sends it when its window ends. Raising here would stop the gateway.
                log.warning("held alarm %s unreadable, not cancellable: %s", item.id, err)
                continue
            origin = alarm.body.origin
            transport = origin.transport
            if (
                alarm.body.kind is not AlarmKind.FALL
                or transport == "gateway"
                or transport == "cloud"
            ):
                continue
            device = DeviceRef(item.device_id, origin.device_kind, transport)
            self.held[item.device_id] = HeldFall(item.id, device, until)
            log.info("possible fall %s from %s still held after a restart", item.id, item.device_id)

    def on_samples(self, batch: SamplesReceived) -> list[str]:
        """Run the wearer's detector; returns the ids of fall alarms raised (held)."""
        if not batch.t_s:
            return []
        device_id = batch.device.device_id
        t = np.asarray(batch.t_s, dtype=np.float64)
        acc = np.asarray(batch.acc_g, dtype=np.float64).reshape(-1, 3)
        wearable = self._wearables.setdefault(device_id, _Wearable(batch.device))
        raised: list[str] = []
        try:
            events = wearable.stream.feed(t, acc)
        except TimeOrderError as err:
            # The device's clock went back: it restarted. Its old stream ends (on the old
            # clock and samples), and its detector starts afresh.
            log.warning("%s: clock went back (%s); detector restarted", device_id, err)
            raised += self._raise_all(wearable, wearable.stream.finish())
            wearable.raw.clear()
            wearable.stream = WearerStream()
            events = wearable.stream.feed(t, acc)
        wearable.device = batch.device
        wearable.clock_offset = batch.received_at - float(t[-1])
        wearable.heard_at = batch.received_at
        wearable.raw.extend(batch.t_s, batch.acc_g)
        raised += self._raise_all(wearable, events)
        wearable.raw.trim(float(t[-1]))  # only now: a decision this batch completed needs them
        return raised

    def end_silent_streams(self) -> list[str]:
        """End the streams of wearables silent for ``STREAM_END_S``: a fall still waiting for
        its confirmation is decided on the last sample sent. Returns the alarm ids raised."""
        now = self._clock()
        raised: list[str] = []
        for device_id, wearable in list(self._wearables.items()):
            if now - wearable.heard_at < STREAM_END_S:
                continue
            del self._wearables[device_id]
            raised += self._raise_all(wearable, wearable.stream.finish())
            log.info(
                "%s: no samples for %.0f s, its stream ended", device_id, now - wearable.heard_at
            )
        return raised

    def _raise_all(self, wearable: _Wearable, events: list[FallEvent]) -> list[str]:
        raised = []
        for event in events:
            alarm_id = self._raise_wearable(wearable, event)
            if alarm_id is not None:
                raised.append(alarm_id)
        return raised

    def on_report(self, report: FallReported) -> str | None:
        """A radar's own decision, acted on when its status changes (Zigbee2MQTT repeats the
        state with every message): ``maybe`` is held for cancelling, ``fall`` goes now,
        releasing a held ``maybe`` or, if that was cancelled or never came, raising anew."""
        device_id = report.device.device_id
        status = "none" if report.cleared else ("fall" if report.certain else "maybe")
        if self._radar_status.get(device_id) == status:
            return None
        self._radar_status[device_id] = status
        if status == "none":
            return None
        now = self._clock()
        self._forget_expired(now)
        held = self.held.get(device_id)
        if held is not None:
            if status == "fall":
                self.outbox.release(held.alarm_id, now)
                del self.held[device_id]
                self._prompt(None, False)
            return held.alarm_id
        alarm = self._alarm(report.device, datetime.fromtimestamp(report.received_at, UTC), None)
        return self._commit(alarm, report.device, hold=status == "maybe")

    def release_all(self) -> None:
        """The resident called for help: every held fall goes to the centre now."""
        now = self._clock()
        for held in list(self.held.values()):
            self.outbox.release(held.alarm_id, now)
            self._prompt(held.device if held.device.transport == "serial" else None, False)
            log.info("possible fall %s released by an emergency call", held.alarm_id)
        self.held.clear()

    def cancel_by_press(self, device_id: str) -> str | None:
        """A key press during a hold: the resident is all right. Returns the cancelled id."""
        now = self._clock()
        self._forget_expired(now)
        held = self.held.get(device_id)
        if held is None:  # a radar's fall is cancelled by any call button of the home
            held = next((h for h in self.held.values() if h.device.transport != "serial"), None)
        if held is None or not self.outbox.cancel(held.alarm_id, now):
            return None
        del self.held[held.device.device_id]
        self._prompt(held.device if held.device.transport == "serial" else None, False)
        log.info("possible fall %s cancelled by the resident", held.alarm_id)
        return held.alarm_id

    def _forget_expired(self, now: float) -> None:
        for device_id in [d for d, h in self.held.items() if now >= h.until]:
            del self.held[device_id]

    def _raise_wearable(self, wearable: _Wearable, event: FallEvent) -> str | None:
        device = wearable.device
        now = self._clock()
        self._forget_expired(now)
        if device.device_id in self.held:
            return None  # the same episode: one alarm
        impact_at = datetime.fromtimestamp(event.t_impact + wearable.clock_offset, UTC)
        trace = wearable.raw.trace(event)
        return self._commit(self._alarm(device, impact_at, trace), device, hold=True)

    def _alarm(
        self, device: DeviceRef, occurred: datetime, trace: AccelTrace | None
    ) -> AlarmMessage:
        return AlarmMessage(
            gateway_id=self.gateway_id,
            device_id=device.device_id,
            device_time=occurred,
            gateway_time=datetime.fromtimestamp(self._clock(), UTC),
            body=AlarmBody(
                kind=AlarmKind.FALL,
                priority=DEFAULT_PRIORITY[AlarmKind.FALL],
                home_id=self.home_id,
                origin=Origin(transport=device.transport, device_kind=device.device_kind),
                trace=trace,
            ),
        )

    def _commit(self, alarm: AlarmMessage, device: DeviceRef, *, hold: bool) -> str:
        now = self._clock()
        until = now + self.cancel_window_s if hold and self.cancel_window_s > 0 else None
        self.outbox.add(
            alarm.id,
            Channel.ALARM.value,
            encode(alarm),
            now,
            device_id=device.device_id,
            hold_until=until,
        )
        if until is not None:
            self.held[device.device_id] = HeldFall(alarm.id, device, until)
            self._prompt(device if device.transport == "serial" else None, True)
            log.info(
                "possible fall %s from %s: held %.0f s for cancelling",
                alarm.id,
                device.device_id,
                self.cancel_window_s,
            )
        else:
            log.info("fall alarm %s from %s", alarm.id, device.device_id)
        return alarm.id
