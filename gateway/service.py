"""The gateway's event loop: device events in, alarms out, the centre's answers back.

One thread consumes everything (device events, receipts, commands) from one queue, so the
order "persist, then acknowledge to the device, then send" holds without further locking.
"""

from __future__ import annotations

import itertools
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from pydantic import ValidationError

from edge.events import (
    AvailabilityChanged,
    BatteryReported,
    DeviceRef,
    EdgeEvent,
    FallReported,
    HazardReported,
    Key,
    KeyPressed,
    SamplesReceived,
    SensorChanged,
    SignalReceived,
)
from edge.serial.link import SerialLink
from edge.serial.payloads import Ack, AckStage, Indicate, Pattern
from gateway import OutboxError
from gateway.bedwatch import BedWatch
from gateway.detect.checkin import CheckinConfig
from gateway.devicewatch import DeviceAlarm, DeviceWatch
from gateway.falls import FallFlow
from gateway.homewatch import HomeWatch, local_seconds
from gateway.metrics import GatewayMetrics
from gateway.outbox import Outbox, OutboxItem
from gateway.uplink import CentreLinks, Uplink
from protocol import (
    AlarmBody,
    AlarmKind,
    AlarmMessage,
    Channel,
    CommandKind,
    CommandMessage,
    DownlinkMessage,
    EventBody,
    EventMessage,
    HomeConfigMessage,
    Origin,
    ReceiptMessage,
    TelemetryBody,
    TelemetryMessage,
    encode,
)
from protocol.messages import DEFAULT_PRIORITY, Scalar

log = logging.getLogger(__name__)

ALARM_OF_KEY = {
    Key.EMERGENCY: AlarmKind.EMERGENCY_CALL,
    Key.SERVICE: AlarmKind.SERVICE_REQUEST,
    Key.FAMILY: AlarmKind.FAMILY_CALL,
}
# A device repeats an unanswered press with the same sequence number and the same moment of
# pressing (receive time minus its growing age), for as long as it gets no answer. Both must
# match for a repeat: a restarted device reuses sequence numbers, but not press times. This is
# how far apart the press times of a press and its repeat may be (serial buffering and the
# device's millisecond counter); a restarted device's new press is minutes off.
PRESS_TIME_TOLERANCE_S = 2.0
KEEP_DELIVERED_S = 7 * 24 * 3600.0
PRUNE_EVERY_S = 3600.0
FAULT_REPORT_EVERY_S = 60.0
# With a backup centre, how long it gets to confirm an overdue alarm before the home is told
# to act locally: a telecare unit tries its second centre before it reports a failed call.
BACKUP_CHANCE_S = 30.0
# How long a fall's wearer is shown that the alarm reached the centre, and that help is coming:
# a fall alarm answers no key press, so the device gets these stages as INDICATE, not ACK.
ALARM_SENT_SHOWN_S = 120
HELP_COMING_SHOWN_S = 300
# Traffic from the device itself (an open port or a broker's word is not).
SIGNS_OF_LIFE = (
    KeyPressed,
    BatteryReported,
    SamplesReceived,
    FallReported,
    SensorChanged,
    HazardReported,
    SignalReceived,
)
_IDLE = object()  # a wake-up without work: time for housekeeping

_Work = EdgeEvent | DownlinkMessage | object | None
# Lanes of the work queue: what can be an alarm, or answers one, never waits behind telemetry
# and samples (a babbling sensor or a wearable's stream); FIFO within a lane.
URGENT = (KeyPressed, FallReported, HazardReported, ReceiptMessage, CommandMessage)
_URGENT_LANE, _ROUTINE_LANE, _STOP_LANE = 0, 1, 2


class Gateway:
    """Turns edge events into alarms and relays the centre's answers to the devices."""

    def __init__(
        self,
        gateway_id: str,
        home_id: str,
        outbox: Outbox,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        fall_cancel_window_s: float = 30.0,
        supervised_s: dict[str, float] | None = None,
        devices: dict[str, DeviceRef] | None = None,
        rooms: dict[str, str] | None = None,
        local_time: Callable[[float], float] = local_seconds,
        checkin: CheckinConfig | None = None,
        home_state: Path | None = None,
        undelivered_after_s: float = 180.0,
    ) -> None:
        self.falls = FallFlow(
            gateway_id,
            home_id,
            outbox,
            cancel_window_s=fall_cancel_window_s,
            clock=clock,
            prompt=self._prompt,
        )
        # Silence is measured on the monotonic clock, so an NTP step cannot fake or hide it.
        self.watch = DeviceWatch(supervised_s or {}, clock(), monotonic=monotonic)
        self.beds = BedWatch()
        self.supervisor = self.watch.supervisor
        self.devices = dict(devices or {})
        self.rooms = dict(rooms or {})
        self.home = HomeWatch(
            gateway_id,
            home_id,
            outbox,
            rooms=rooms or {},
            clock=clock,
            prompt=lambda on, window: self._prompt(None, on, window),
            local=local_time,
            checkin=checkin,
            state_path=home_state,
            on_activity=self._send_activity,
            # Clock steps are corrected against the monotonic clock, except for a wall clock
            # injected alone: beside the real monotonic clock it would seem to step all along.
            monotonic=None if clock is not time.time and monotonic is time.monotonic else monotonic,
        )
        self.gateway_id = gateway_id
        self.home_id = home_id
        self.outbox = outbox
        self.uplink: Uplink | None = None
        self.serial_links: dict[str, SerialLink] = {}
        self._clock = clock
        self._work: queue.PriorityQueue[tuple[int, int, _Work]] = queue.PriorityQueue()
        self._arrivals = itertools.count()  # FIFO within a lane; items are never compared
        self._thread = threading.Thread(target=self._run, name="gateway")
        self.alarms_raised = 0
        self.undelivered_after_s = undelivered_after_s
        self.not_delivered_since: float | None = None  # showing "alarm not delivered"
        # What each serial device was last told of it (never told: OFF), and which could not
        # be told (port closed): they are told once their port is open again.
        self._told: dict[str, Pattern] = {}
        self._untold: set[str] = set()
        # A device showing a pattern for a while, and until when: the "are you all right?"
        # PROMPT, which NOT_DELIVERED waits for rather than cutting it short, or a fall's
        # ALARM_SENT or HELP_COMING, which NOT_DELIVERED (another alarm stuck) goes over and
        # OFF waits for. The device ends either by itself.
        self._showing: dict[str, tuple[Pattern, float]] = {}
        self._unprompted: set[str] = set()  # owed a prompt, port closed: warned once
        self._delivery_checked_at = -math.inf
        self._refused_since: float | None = None  # the centre's broker refuses the gateway
        self._fault_at: float | None = None  # the outbox last failed to store
        self.metrics: GatewayMetrics | None = None
        # A configuration from the centre goes here, on this thread (gateway/reconfigure.py).
        self.on_config: Callable[[HomeConfigMessage], None] | None = None

    # Producers (driver threads, the MQTT thread) call these; they never block.
    def submit(self, item: EdgeEvent | DownlinkMessage) -> None:
        lane = _URGENT_LANE if isinstance(item, URGENT) else _ROUTINE_LANE
        self._work.put((lane, next(self._arrivals), item))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._work.put((_STOP_LANE, next(self._arrivals), None))
        self._thread.join(timeout=10)
        self.home.save()

    def _run(self) -> None:
        next_prune = 0.0
        while True:
            try:
                _, _, item = self._work.get(timeout=1.0)
            except queue.Empty:
                item = _IDLE
            if item is None:
                return
            try:
                if self._clock() >= next_prune:
                    self._prune()
                    next_prune = self._clock() + PRUNE_EVERY_S
                self._supervise()
                self._check_delivery()
                if self.home.tick() and self.uplink is not None:
                    self.uplink.wake()
                if self.falls.end_silent_streams() and self.uplink is not None:
                    self.uplink.wake()
            except Exception:
                # Housekeeping must never stop the only thread that raises alarms.
                log.exception("gateway housekeeping failed; continuing")
            if item is _IDLE:
                continue
            try:
                self.handle(cast(EdgeEvent | DownlinkMessage, item))
            except OutboxError as err:
                # Not acknowledged to the device, so a serial device repeats the press and
                # it is tried again; meanwhile the centre and the home are told.
                log.critical("could not persist %r: the alarm is NOT stored", item, exc_info=True)
                self._report_fault("outbox_write_failed", err)
            except Exception:
                # One bad item must not stop the only thread that raises alarms.
                log.exception("gateway failed to handle %r; continuing", item)

    def _report_fault(self, reason: str, err: Exception) -> None:
        """The outbox cannot store alarms (disk full, I/O error): a technical alarm straight
        to the centre (it cannot go through the outbox), at most once a minute while it lasts,
        and NOT_DELIVERED on the devices at once, since nothing raised now is safe."""
        now = self._clock()
        first = self._fault_at is None or now - self._fault_at >= FAULT_REPORT_EVERY_S
        self._fault_at = now
        if self.not_delivered_since is None:
            self.not_delivered_since = now
            self._tell_devices()
        if not first:
            return
        alarm = AlarmMessage(
            gateway_id=self.gateway_id,
            gateway_time=_utc(now),
            body=AlarmBody(
                kind=AlarmKind.GATEWAY_FAULT,
                priority=DEFAULT_PRIORITY[AlarmKind.GATEWAY_FAULT],
                home_id=self.home_id,
                origin=Origin(transport="gateway", device_kind="gateway"),
                detail={"reason": reason, "error": str(err)[:200]},
            ),
        )
        sent = self.uplink is not None and self.uplink.publish_unstored(
            Channel.ALARM, encode(alarm)
        )
        log.critical("alarm %s raised: gateway fault %s (sent: %s)", alarm.id, reason, sent)

    def _check_delivery(self) -> None:
        """The alternative action of social-alarm practice: when no centre can have the
        alarms, every serial device shows NOT_DELIVERED (the resident, or whoever is with her,
        should phone for help) and the gateway keeps trying. Once nothing waits any more and
        the path is sound, the devices are told it is over."""
        now = self._clock()
        if now - self._delivery_checked_at < 1.0:
            return  # a query of the outbox; once a second is plenty
        self._delivery_checked_at = now
        waiting = self.outbox.backlog().get(Channel.ALARM.value)
        links = self.uplink.links() if self.uplink is not None else CentreLinks()
        if links.refusal is None:
            self._refused_since = None
        elif self._refused_since is None:
            self._refused_since = now
        why = self._undeliverable(now, waiting, links)
        if why is not None and self.not_delivered_since is None:
            self.not_delivered_since = now
            log.log(why[0], "%s: showing NOT_DELIVERED on the devices", why[1])
        elif why is None and waiting is None and self.not_delivered_since is not None:
            log.warning("the centre has every alarm again: NOT_DELIVERED ends")
            self.not_delivered_since = None
        self._tell_devices()

    def _undeliverable(
        self, now: float, waiting: tuple[int, float] | None, links: CentreLinks
    ) -> tuple[int, str] | None:
        """Why alarms cannot reach a centre now, with the log level that says it, or None.

        An overdue alarm is news (an error); a store fault or a refusing broker has already
        been logged where it happened, so here it is only the consequence (a warning)."""
        if self._faulty(now):
            return logging.WARNING, "the outbox cannot store alarms"
        # The uplink opens a backup link the moment the broker refuses: from then on it has
        # its chance to connect (and keep connected) before the home is told.
        refused_for = 0.0 if self._refused_since is None else now - self._refused_since
        if (
            links.refusal is not None
            and not links.backup_connected
            and (not links.backup_configured or refused_for >= BACKUP_CHANCE_S)
        ):
            return logging.WARNING, f"the centre's broker refuses the gateway ({links.refusal})"
        chance = BACKUP_CHANCE_S if links.backup_configured else 0.0
        if waiting is not None and now - waiting[1] >= self.undelivered_after_s + chance:
            count, oldest = waiting
            centres = "the centre or its backup" if links.backup_configured else "the centre"
            return (
                logging.ERROR,
                f"{count} alarm(s) not confirmed by {centres} for {now - oldest:.0f} s",
            )
        return None

    def _faulty(self, now: float) -> bool:
        return self._fault_at is not None and now - self._fault_at < FAULT_REPORT_EVERY_S

    def _tell_devices(self) -> None:
        """Bring every serial device's NOT_DELIVERED signal in line with the gateway's state.

        Called on every delivery check, so a device whose port was closed when the state
        changed (a cable pulled during the outage), or one added meanwhile, is told once its
        port is open again; a device is told each change once, not every second."""
        wanted = self._resting_pattern()
        now = self._clock()
        self._renew_prompts(now)
        for device_id, link in list(self.serial_links.items()):
            if self._told.get(device_id, Pattern.OFF) is wanted:
                continue
            shown = self._shows(device_id, now)
            if shown is Pattern.PROMPT:
                continue  # told when the prompt ends
            if shown is not None and wanted is Pattern.OFF:
                continue  # goes OFF by itself
            if link.send(Indicate(wanted, wanted, 0)):
                self._told[device_id] = wanted
                self._untold.discard(device_id)
            elif device_id not in self._untold:
                self._untold.add(device_id)
                log.warning("could not show %s on %s (port not open)", wanted.name, device_id)

    def _shows(self, device_id: str, now: float) -> Pattern | None:
        """The timed pattern ``device_id`` is showing at ``now``, if any."""
        pattern, until = self._showing.get(device_id, (None, -math.inf))
        return pattern if until > now else None

    def _renew_prompts(self, now: float) -> None:
        """Prompt again, for what is left of its window, each device that should be asking
        "are you all right?" and is not: the gateway restarted during the window (the hold is
        read back, the buzzing was not), or the device's port was closed when it was prompted
        or has reopened since (a restarted device shows nothing). Without it the resident
        cannot know that a press would still cancel the alarm."""
        for held in list(self.falls.held.values()):
            left = round(held.until - now)
            if left < 1:
                continue
            serial = held.device.transport == "serial"
            for device_id in [held.device.device_id] if serial else list(self.serial_links):
                link = self.serial_links.get(device_id)
                if self._shows(device_id, now) is Pattern.PROMPT:
                    continue  # showing it
                if link is not None and link.send(Indicate(Pattern.PROMPT, Pattern.PROMPT, left)):
                    self._showing[device_id] = (Pattern.PROMPT, now + left)
                    self._told.pop(device_id, None)
                    self._unprompted.discard(device_id)
                    log.info("%s prompted again: %d s of the cancel window left", device_id, left)
                elif device_id not in self._unprompted:
                    self._unprompted.add(device_id)
                    log.warning("could not prompt %s again (port not open)", device_id)

    def _supervise(self) -> None:
        """Raise a technical alarm for each device that has gone silent."""
        for alarm in self.watch.silent(self._clock(), self.devices):
            try:
                self._raise_device_alarm(alarm)
            except OutboxError:
                self.supervisor.unreport(alarm.device.device_id)  # found again next check
                log.critical("could not store device-silent alarm for %s", alarm.device.device_id)

    def _heard(self, device: DeviceRef, at: float) -> None:
        if self.watch.heard(device.device_id, at):
            log.info("%s is heard again", device.device_id)
            self._send_event(AvailabilityChanged(device, at, online=True), kind="device_back")

    def _raise_device_alarm(self, alarm: DeviceAlarm) -> None:
        """A technical (silent, battery) or hazard (smoke, gas, water) alarm from a device."""
        now = self._clock()
        device = alarm.device
        message = AlarmMessage(
            gateway_id=self.gateway_id,
            device_id=device.device_id,
            device_time=_utc(alarm.since),
            gateway_time=_utc(now),
            body=AlarmBody(
                kind=alarm.kind,
                priority=DEFAULT_PRIORITY[alarm.kind],
                home_id=self.home_id,
                origin=Origin(transport=device.transport, device_kind=device.device_kind),
                detail=alarm.detail | self._room_of(device.device_id),
            ),
        )
        self.outbox.add(
            message.id, Channel.ALARM.value, encode(message), now, device_id=device.device_id
        )
        self.alarms_raised += 1
        log.warning(
            "alarm %s raised: %s from %s since %s %s",
            message.id,
            alarm.kind.value,
            device.device_id,
            _utc(alarm.since),
            alarm.detail,
        )
        if self.uplink is not None:
            self.uplink.wake()

    def _prune(self) -> None:
        try:
            removed = self.outbox.prune(self._clock() - KEEP_DELIVERED_S)
        except OutboxError:
            log.exception("outbox pruning failed")
            return
        if removed:
            log.info("pruned %d delivered messages from the outbox", removed)

    def handle(self, item: EdgeEvent | DownlinkMessage) -> None:
        if isinstance(item, SIGNS_OF_LIFE):
            # Traffic from the device itself; an open port or a broker's word is not.
            self._heard(item.device, item.received_at)
        if isinstance(item, KeyPressed):
            self._on_key(item)
        elif isinstance(item, ReceiptMessage):
            self._on_receipt(item)
        elif isinstance(item, CommandMessage):
            self._on_command(item)
        elif isinstance(item, HomeConfigMessage) and self.on_config is not None:
            self.on_config(item)
        elif isinstance(item, BatteryReported):
            self._send_telemetry(item)
            self._raise_if(self.watch.on_battery(item))
        elif isinstance(item, AvailabilityChanged):
            self._send_event(item)
            if item.device.transport == "serial":
                # A port that closed and opened again is a device that may have restarted
                # (cable, power): it shows nothing, so what it was told is told again.
                self._told.pop(item.device.device_id, None)
                self._showing.pop(item.device.device_id, None)
            if item.device.transport == "zigbee2mqtt":
                self._raise_if(self.watch.on_availability(item))
        elif isinstance(item, HazardReported):
            self._on_hazard(item)
        elif isinstance(item, SignalReceived):
            self._on_bed_signal(item)
        elif isinstance(item, SamplesReceived):
            if self.falls.on_samples(item) and self.uplink is not None:
                self.uplink.wake()
        elif isinstance(item, SensorChanged):
            if self.home.on_sensor(item) and self.uplink is not None:
                self.uplink.wake()
        elif isinstance(item, FallReported):
            self.falls.on_report(item)
            if self.uplink is not None:
                self.uplink.wake()

    def _room_of(self, device_id: str) -> dict[str, str]:
        room = self.rooms.get(device_id)
        return {"room": room} if room else {}

    def _raise_if(self, alarm: DeviceAlarm | None) -> None:
        if alarm is not None:
            self._raise_device_alarm(alarm)

    def _on_bed_signal(self, block: SignalReceived) -> None:
        try:
            outcome = self.beds.on_signal(block)
        except ValueError as err:  # a rate the estimator cannot work at
            log.warning("bed signal from %s unusable: %s", block.device.device_id, err)
            return
        # The block's last sample arrived at received_at: device time -> gateway time.
        offset = block.received_at - (block.t0_s + len(block.values) / block.rate_hz)
        for alarm in outcome.alarms:
            detail: dict[str, Scalar] = {"condition": alarm.kind}
            if alarm.value is not None:
                detail["per_minute"] = round(alarm.value, 1)
            since = alarm.t_start + offset
            self._raise_device_alarm(
                DeviceAlarm(block.device, AlarmKind.VITAL_SIGNS, since, detail)
            )
        reading = outcome.report
        if reading is not None and self.uplink is not None:
            fields: dict[str, Scalar] = {"occupied": reading.occupied, "quality": reading.quality}
            if reading.heart_bpm is not None:
                fields["heart_bpm"] = round(reading.heart_bpm, 1)
            if reading.resp_bpm is not None:
                fields["resp_bpm"] = round(reading.resp_bpm, 1)
            message = TelemetryMessage(
                gateway_id=self.gateway_id,
                device_id=block.device.device_id,
                gateway_time=_utc(reading.t + offset),
                body=TelemetryBody(measurement="vitals", fields=fields),
            )
            self.uplink.publish_now(Channel.TELEMETRY, encode(message))

    def _on_hazard(self, report: HazardReported) -> None:
        outcome = self.watch.on_hazard(report)
        if isinstance(outcome, DeviceAlarm):
            self._raise_device_alarm(outcome)
        elif outcome is False:
            log.info("%s: %s over", report.device.device_id, report.hazard)
            self._send_event(
                AvailabilityChanged(report.device, report.received_at, online=True),
                kind=f"{report.hazard}_cleared",
            )

    def _on_key(self, press: KeyPressed) -> None:
        device = press.device
        if press.frame_seq is not None:
            earlier = self.outbox.find_press(
                device.device_id,
                press.frame_seq,
                press.occurred_at,
                tolerance_s=PRESS_TIME_TOLERANCE_S,
            )
            if earlier is not None:
                # The device did not hear our answer: answer again, raise nothing new.
                stage = AckStage.AT_CENTRE if earlier.delivered_at else AckStage.RECEIVED
                self._answer_device(device.device_id, press.frame_seq, stage)
                return
        if self._answers_a_prompt(press):
            return
        kind = ALARM_OF_KEY[press.key]
        alarm = AlarmMessage(
            gateway_id=self.gateway_id,
            device_id=device.device_id,
            device_time=_utc(press.occurred_at),
            gateway_time=_utc(press.received_at),
            body=AlarmBody(
                kind=kind,
                priority=DEFAULT_PRIORITY[kind],
                home_id=self.home_id,
                origin=Origin(
                    transport=device.transport,
                    device_kind=device.device_kind,
                    frame_seq=press.frame_seq,
                ),
                battery_percent=press.battery_percent,
                detail=self._room_of(device.device_id),
            ),
        )
        self.outbox.add(
            alarm.id,
            Channel.ALARM.value,
            encode(alarm),
            self._clock(),
            device_id=device.device_id,
            frame_seq=press.frame_seq,
            occurred_at=press.occurred_at,
        )
        self.alarms_raised += 1
        log.info("alarm %s raised: %s from %s", alarm.id, kind.value, device.device_id)
        if press.frame_seq is not None:
            self._answer_device(device.device_id, press.frame_seq, AckStage.RECEIVED)
        if self.uplink is not None:
            self.uplink.wake()

    def _answers_a_prompt(self, press: KeyPressed) -> bool:
        """Whether this press answers a prompt ("I'm all right") instead of calling for help.

        Only a non-emergency key on a serial device (the devices that were prompted) answers.
        The EMERGENCY key never does: during a held fall it sends the fall at once, and the
        call is raised as well. Every press is a sign of life and the day's check-in.
        """
        answering = press.device.transport == "serial" and press.key is not Key.EMERGENCY
        if press.key is Key.EMERGENCY:
            self.falls.release_all()
        cancelled = self.falls.cancel_by_press(press.device.device_id) if answering else None
        prompt_answered = self.home.on_press(press, answering=answering)
        if cancelled is not None:
            self._record_answer(press, "fall_cancelled", {"alarm_id": cancelled})
            return True
        if prompt_answered:
            self._record_answer(press, "prompt_answered", {})
            return True
        return False

    def _record_answer(self, press: KeyPressed, kind: str, detail: dict[str, str]) -> None:
        event = EventMessage(
            gateway_id=self.gateway_id,
            device_id=press.device.device_id,
            device_time=_utc(press.occurred_at),
            gateway_time=_utc(press.received_at),
            body=EventBody(kind=kind, detail=detail),
        )
        # Through the outbox, with the press's sequence number: the record reaches the centre,
        # and the device's repeats of this press are recognised as repeats, not new calls.
        self.outbox.add(
            event.id,
            Channel.EVENT.value,
            encode(event),
            self._clock(),
            device_id=press.device.device_id,
            frame_seq=press.frame_seq,
            occurred_at=press.occurred_at,
        )
        if press.frame_seq is not None:
            self._answer_device(press.device.device_id, press.frame_seq, AckStage.RECEIVED)
        if self.uplink is not None:
            self.uplink.wake()

    def _resting_pattern(self) -> Pattern:
        """What a device shows when nothing asks the resident anything: NOT_DELIVERED or OFF."""
        return Pattern.OFF if self.not_delivered_since is None else Pattern.NOT_DELIVERED

    def _prompt(self, device: DeviceRef | None, on: bool, duration_s: float | None = None) -> None:
        """Buzz the "are you all right?" prompt on a device, or on every serial device.

        Ending a prompt puts the device back to its resting pattern, not simply OFF: a prompt
        during an outage must not wipe the "alarm not delivered" signal. A prompt that runs out
        on the device (which then goes OFF) is followed by the resting pattern again, since
        the device counts as told nothing once its prompt has ended."""
        window = self.falls.cancel_window_s if duration_s is None else duration_s
        pattern = Pattern.PROMPT if on else self._resting_pattern()
        duration = round(window) if on else 0
        targets = [device.device_id] if device is not None else list(self.serial_links)
        for device_id in targets:
            link = self.serial_links.get(device_id)
            if link is None or not link.send(Indicate(pattern, pattern, duration)):
                log.warning("could not prompt %s (port not open)", device_id)
                if on:
                    self._unprompted.add(device_id)  # prompted once its port opens
                continue
            if on:
                self._showing[device_id] = (Pattern.PROMPT, self._clock() + duration)
                self._told.pop(device_id, None)  # the device goes OFF when the prompt runs out
            else:
                self._showing.pop(device_id, None)
                self._told[device_id] = pattern

    def _on_receipt(self, receipt: ReceiptMessage) -> None:
        alarm_id = receipt.body.ref_id
        if not self.outbox.confirm(alarm_id, self._clock()):
            return
        log.info("alarm %s stored at the centre", alarm_id)
        item = self.outbox.get(alarm_id)
        if item is not None and item.channel == Channel.ALARM.value and self.metrics is not None:
            self.metrics.delivery.observe(max(0.0, self._clock() - item.created_at))
        if (
            item
            and item.channel == Channel.ALARM.value
            and item.device_id
            and item.frame_seq is not None
        ):
            self._answer_device(item.device_id, item.frame_seq, AckStage.AT_CENTRE)
        elif item is not None and self._is_wearers_fall(item):
            self._show_stage(item, Pattern.ALARM_SENT, ALARM_SENT_SHOWN_S)

    def _on_command(self, command: CommandMessage) -> None:
        if command.body.kind is not CommandKind.ALARM_HANDLED:
            return
        item = self.outbox.get(command.body.alarm_id)
        if item is None:
            log.warning("command for unknown alarm %s", command.body.alarm_id)
            return
        log.info("alarm %s handled by %s", item.id, command.body.operator or "the centre")
        # A handled alarm is certainly at the centre, even if its receipt got lost.
        self.outbox.confirm(item.id, self._clock())
        if item.device_id and item.frame_seq is not None:
            self._answer_device(item.device_id, item.frame_seq, AckStage.HELP_COMING)
        elif self._is_wearers_fall(item):
            self._show_stage(item, Pattern.HELP_COMING, HELP_COMING_SHOWN_S)

    def _is_wearers_fall(self, item: OutboxItem) -> bool:
        """A fall alarm a serial wearable's samples raised: no key press to ACK, yet the
        resident, who may be lying on the floor, should learn that it got through."""
        if item.channel != Channel.ALARM.value or item.device_id not in self.serial_links:
            return False
        try:
            alarm = AlarmMessage.model_validate_json(item.payload)
        except ValidationError:
            return False  # an older release's row: no stage shown, nothing else lost
        return alarm.body.kind is AlarmKind.FALL

    def _show_stage(self, item: OutboxItem, pattern: Pattern, shown_s: int) -> None:
        """ALARM_SENT or HELP_COMING on the wearable, for ``shown_s``; not over a prompt
        (another possible fall asking) or NOT_DELIVERED (another alarm stuck), which matter
        more."""
        device_id = item.device_id
        assert device_id is not None
        now = self._clock()
        if self._shows(device_id, now) is Pattern.PROMPT or self.not_delivered_since is not None:
            return
        link = self.serial_links[device_id]
        if not link.send(Indicate(pattern, pattern, shown_s)):
            log.warning("could not show %s on %s (port not open)", pattern.name, device_id)
            return
        self._showing[device_id] = (pattern, now + shown_s)
        self._told.pop(device_id, None)  # the device goes OFF when it runs out

    def _answer_device(self, device_id: str, frame_seq: int, stage: AckStage) -> None:
        link = self.serial_links.get(device_id)
        if link is None or not link.send(Ack(frame_seq, stage)):
            log.warning("could not tell %s: %s (port not open)", device_id, stage.name)

    def _send_telemetry(self, report: BatteryReported) -> None:
        message = TelemetryMessage(
            gateway_id=self.gateway_id,
            device_id=report.device.device_id,
            gateway_time=_utc(report.received_at),
            body=TelemetryBody(
                measurement="battery",
                fields={"low": report.battery_low}
                | ({} if report.battery_percent is None else {"percent": report.battery_percent}),
            ),
        )
        if self.uplink is not None:
            self.uplink.publish_now(Channel.TELEMETRY, encode(message))

    def _send_activity(self, change: SensorChanged, room: str) -> None:
        """A home sensor's change, for the centre's activity timeline (lossy like telemetry:
        buffered while the centre is away, never in the alarm outbox)."""
        detail: dict[str, Scalar] = {"sensor": change.kind, "value": change.value}
        if room:
            detail["room"] = room
        message = EventMessage(
            gateway_id=self.gateway_id,
            device_id=change.device.device_id,
            gateway_time=_utc(change.received_at),
            body=EventBody(kind="activity", detail=detail),
        )
        if self.uplink is not None:
            self.uplink.publish_now(Channel.EVENT, encode(message))

    def _send_event(self, change: AvailabilityChanged, kind: str | None = None) -> None:
        message = EventMessage(
            gateway_id=self.gateway_id,
            device_id=change.device.device_id,
            gateway_time=_utc(change.received_at),
            body=EventBody(
                kind=kind or ("device_online" if change.online else "device_offline"),
                detail={"transport": change.device.transport},
            ),
        )
        if self.uplink is not None:
            self.uplink.publish_now(Channel.EVENT, encode(message))


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
