"""`livekit.SIP` handlers: trunks, dispatch rules, legacy trunks, calls.

Each handler follows the OSS server (pkg/service/sip.go; docs/livekit.md#api-server): grant check
first, then request validation with the pure engine (`sipconf.routing`), then load / conflict
check / store. Nothing here re-implements a LiveKit rule; it only sequences them.
"""

from __future__ import annotations

from typing import Callable

from google.protobuf.message import Message
from livekit.protocol import sip

from sipconf.local import auth
from sipconf.local.store import ID_FIELD, INBOUND, LEGACY, OUTBOUND, RULE, StateStore
from sipconf.local.auth import Claims
from sipconf.local.conflicts import CreateCheck, rule_numbers, trunk_numbers
from sipconf.local.backend import CallBackend, no_backend_error
from sipconf.local.rooms import Rooms
from sipconf.validation import filters, legacy, updates
from sipconf.routing import ids, media, rules, trunks
from sipconf.routing.errors import INVALID_ARGUMENT, NOT_FOUND, LiveKitError
from sipconf.validation.validate import validate

TRUNK_NOT_FOUND = "requested sip trunk does not exist"
RULE_NOT_FOUND = "requested sip dispatch rule does not exist"
NO_SIP_SESSION = "no SIP session associated with participant"


def _invalid(err: LiveKitError) -> LiveKitError:
    """A plain Go validation error reaches the client as invalid_argument
    (docs/livekit.md#validate-objects)."""
    return err if err.code else LiveKitError(INVALID_ARGUMENT, err.message, dict(err.meta))


def _check(msg: Message) -> None:
    result = validate(msg)
    if result.error is not None:
        raise _invalid(result.error)


def _copy(msg: Message) -> Message:
    out = type(msg)()
    out.CopyFrom(msg)
    return out


def _upgrade_media(obj: Message) -> None:
    """LiveKit's `Upgrade()`: `media` becomes present and the deprecated field mirrors it."""
    obj.media.CopyFrom(media.upgrade(obj))
    obj.media_encryption = media.encryption_of(obj.media)


def _after(items: list[Message], id_field: str, page: sip.Pagination | None) -> list[Message]:
    """`page.after_id`: only ids greater than it (docs/livekit.md#api-lists)."""
    after = page.after_id if page is not None else ""
    return [i for i in items if getattr(i, id_field) > after] if after else items


def _replaced(items: list[Message], result: Message, kind: str) -> list[Message]:
    """``items`` with ``result`` in place of the stored copy that has its id."""
    id_field = ID_FIELD[kind]
    key = getattr(result, id_field)
    return [result if getattr(x, id_field) == key else x for x in items]


def _invalid_or_none(err: LiveKitError | None) -> LiveKitError | None:
    return None if err is None else _invalid(err)


def _all_pages(req: Message) -> Message:
    """The OSS service walks every store page (`iters.All`), so `page.limit` is only a page
    size and never caps the answer (docs/livekit.md#api-lists): drop it before filtering."""
    out = _copy(req)
    if out.HasField("page"):
        out.page.limit = 0
    return out


class SIPService:
    """The SIP service state: the store, the live rooms and the (optional) call backend."""

    def __init__(self, store: StateStore, rooms: Rooms, backend: CallBackend | None = None) -> None:
        self.store = store
        self.rooms = rooms
        self.backend = backend
        # Creates are checked against the stored objects that share a number with them, from
        # an index kept between writes (sipconf.local.conflicts): the same verdicts as
        # validating every stored object, without the N^2 cost of a large apply.
        self._trunk_creates = CreateCheck(trunks.validate_trunks, trunk_numbers, ID_FIELD[INBOUND])
        self._rule_creates = CreateCheck(rules.validate_rules, rule_numbers, ID_FIELD[RULE])

    def handlers(self) -> dict[str, Callable]:
        """RPC name -> `async handler(req, claims) -> response`."""
        return {
            "CreateSIPInboundTrunk": self.create_inbound_trunk,
            "CreateSIPOutboundTrunk": self.create_outbound_trunk,
            "UpdateSIPInboundTrunk": self.update_inbound_trunk,
            "UpdateSIPOutboundTrunk": self.update_outbound_trunk,
            "GetSIPInboundTrunk": self.get_inbound_trunk,
            "GetSIPOutboundTrunk": self.get_outbound_trunk,
            "ListSIPInboundTrunk": self.list_inbound_trunk,
            "ListSIPOutboundTrunk": self.list_outbound_trunk,
            "ListSIPTrunk": self.list_trunk,
            "DeleteSIPTrunk": self.delete_trunk,
            "CreateSIPDispatchRule": self.create_dispatch_rule,
            "UpdateSIPDispatchRule": self.update_dispatch_rule,
            "ListSIPDispatchRule": self.list_dispatch_rule,
            "DeleteSIPDispatchRule": self.delete_dispatch_rule,
            "CreateSIPParticipant": self.create_sip_participant,
            "TransferSIPParticipant": self.transfer_sip_participant,
        }

    # -- reads that include legacy trunks -----------------------------------------------------

    def _inbound(self, view) -> list[sip.SIPInboundTrunkInfo]:
        """Stored inbound trunks plus converted legacy ones, sorted by id (docs/livekit.md#api-lists)."""
        items = list(view.all(INBOUND))
        items += [t for t in (legacy.legacy_to_inbound(x) for x in view.all(LEGACY)) if t is not None]
        return sorted(items, key=lambda t: t.sip_trunk_id)

    def _outbound(self, view) -> list[sip.SIPOutboundTrunkInfo]:
        items = list(view.all(OUTBOUND))
        items += [t for t in (legacy.legacy_to_outbound(x) for x in view.all(LEGACY)) if t is not None]
        return sorted(items, key=lambda t: t.sip_trunk_id)

    # -- inbound trunks -----------------------------------------------------------------------

    async def create_inbound_trunk(self, req: sip.CreateSIPInboundTrunkRequest, claims: Claims) -> Message:
        auth.require_sip_admin(claims)
        _check(req)
        # docs/livekit.md#trunk-conflicts: stored trunks sorted by id, the new one ("<new>") last.
        return self._create(INBOUND, _copy(req.trunk), ids.TRUNK, self._trunk_creates, self._inbound)

    async def update_inbound_trunk(self, req: sip.UpdateSIPInboundTrunkRequest, claims: Claims) -> Message:
        auth.require_sip_admin(claims)
        _check(req)
        # docs/livekit.md#trunk-conflicts: the updated trunk replaces its stored copy in place.
        return self._update(
            INBOUND, req, req.sip_trunk_id, TRUNK_NOT_FOUND, updates.apply_inbound_trunk_update,
            check=lambda tx, result: trunks.validate_trunks(_replaced(self._inbound(tx), result, INBOUND)),
        )

    async def get_inbound_trunk(self, req: sip.GetSIPInboundTrunkRequest, claims: Claims) -> Message:
        auth.require_sip_admin(claims)
        return sip.GetSIPInboundTrunkResponse(trunk=self._get_trunk(self._inbound(self.store), req.sip_trunk_id))

    async def list_inbound_trunk(self, req: sip.ListSIPInboundTrunkRequest, claims: Claims) -> Message:
        auth.require_sip_admin(claims)
        return sip.ListSIPInboundTrunkResponse(items=filters.filter_inbound_trunks(self._inbound(self.store), _all_pages(req)))

    # -- outbound trunks ----------------------------------------------------------------------

    async def create_outbound_trunk(self, req: sip.CreateSIPOutboundTrunkRequest, claims: Claims) -> Message:
        auth.require_sip_admin(claims)
        _check(req)
        # Outbound trunks are never conflict-checked (docs/livekit.md#trunk-conflicts).
        return self._create(OUTBOUND, _copy(req.trunk), ids.TRUNK)

    async def update_outbound_trunk(self, req: sip.UpdateSIPOutboundTrunkRequest, claims: Claims) -> Message:
        auth.require_sip_admin(claims)
        _check(req)
        return self._update(OUTBOUND, req, req.sip_trunk_id, TRUNK_NOT_FOUND, updates.apply_outbound_trunk_update)

    async def get_outbound_trunk(self, req: sip.GetSIPOutboundTrunkRequest, claims: Claims) -> Message:
        auth.require_sip_admin(claims)
        return sip.GetSIPOutboundTrunkResponse(trunk=self._get_trunk(self._outbound(self.store), req.sip_trunk_id))

    async def list_outbound_trunk(self, req: sip.ListSIPOutboundTrunkRequest, claims: Claims) -> Message:
        auth.require_sip_admin(claims)
        return sip.ListSIPOutboundTrunkResponse(items=filters.filter_outbound_trunks(self._outbound(self.store), _all_pages(req)))

    def _create(
        self,
        kind: str,
        obj: Message,
        id_prefix: str,
        check: CreateCheck | None = None,
        stored: Callable[[object], list[Message]] | None = None,
    ) -> Message:
        """One create: let ``check`` refuse ``obj`` against the ``stored`` objects of its kind,
        then give it a new id (ids only after validation, docs/livekit.md#ids) and store it,
        in one write transaction."""
        with self.store.write() as tx:
            if check is not None:
                conflict = check.check(tx.began, lambda: stored(tx), obj)
                if conflict is not None:
                    raise _invalid(conflict)
            setattr(obj, ID_FIELD[kind], ids.new_id(id_prefix))
            tx.put(kind, obj)
        if check is not None:
            check.created(tx.committed, _copy(obj))
        return obj

    def _update(
        self,
        kind: str,
        req: Message,
        object_id: str,
        not_found: str,
        apply: Callable[[Message, Message], Message],
        check: Callable[[object, Message], LiveKitError | None] | None = None,
    ) -> Message:
        """One update: load (not_found if absent), apply ``req``, let ``check`` refuse the
        result (it returns the error to raise), store it.  All in one write transaction."""
        with self.store.write() as tx:
            current = tx.get(kind, object_id)
            if current is None:
                raise LiveKitError(NOT_FOUND, not_found)
            result = apply(current, req)
            if check is not None:
                conflict = check(tx, result)
                if conflict is not None:
                    raise conflict
            tx.put(kind, result)
        return result

    @staticmethod
    def _get_trunk(items: list[Message], trunk_id: str) -> Message:
        if not trunk_id:
            raise LiveKitError(INVALID_ARGUMENT, "trunk ID is required")
        for item in items:
            if item.sip_trunk_id == trunk_id:
                return item
        raise LiveKitError(NOT_FOUND, TRUNK_NOT_FOUND)

    # -- legacy trunks ------------------------------------------------------------------------

    async def create_trunk(self, req: sip.CreateSIPTrunkRequest, claims: Claims) -> Message:
        """Deprecated CreateSIPTrunk: gone from the service descriptor, served for old clients."""
        auth.require_sip_admin(claims)
        _check(req)  # refuses inbound_numbers_regex (docs/livekit.md#trunks)
        info = sip.SIPTrunkInfo(
            kind=sip.SIPTrunkInfo.TRUNK_LEGACY,
            inbound_addresses=req.inbound_addresses,
            outbound_address=req.outbound_address,
            outbound_number=req.outbound_number,
            inbound_numbers=req.inbound_numbers,
            inbound_username=req.inbound_username,
            inbound_password=req.inbound_password,
            outbound_username=req.outbound_username,
            outbound_password=req.outbound_password,
            name=req.name,
            metadata=req.metadata,
        )
        with self.store.write() as tx:
            inbound = legacy.legacy_to_inbound(info)
            if inbound is not None:
                conflict = trunks.validate_trunks([*self._inbound(tx), inbound])
                if conflict is not None:
                    raise conflict
            info.sip_trunk_id = ids.new_id(ids.TRUNK)
            tx.put(LEGACY, info)
        return info

    async def list_trunk(self, req: sip.ListSIPTrunkRequest, claims: Claims) -> Message:
        """Deprecated ListSIPTrunk: every trunk as `SIPTrunkInfo`, sorted by id."""
        auth.require_sip_admin(claims)
        items = list(self.store.all(LEGACY))
        items += [legacy.inbound_to_legacy(t) for t in self.store.all(INBOUND)]
        items += [legacy.outbound_to_legacy(t) for t in self.store.all(OUTBOUND)]
        items.sort(key=lambda t: t.sip_trunk_id)
        page = req.page if req.HasField("page") else None
        return sip.ListSIPTrunkResponse(items=_after(items, "sip_trunk_id", page))

    async def delete_trunk(self, req: sip.DeleteSIPTrunkRequest, claims: Claims) -> Message:
        """OSS does HDEL on all three hashes and never checks existence
        (docs/livekit.md#api-deletes)."""
        auth.require_sip_admin(claims)
        if not req.sip_trunk_id:
            raise LiveKitError(INVALID_ARGUMENT, "trunk ID is required")
        with self.store.write() as tx:
            for kind in (LEGACY, INBOUND, OUTBOUND):
                tx.delete(kind, req.sip_trunk_id)
        return sip.SIPTrunkInfo(sip_trunk_id=req.sip_trunk_id)

    # -- dispatch rules -----------------------------------------------------------------------

    async def create_dispatch_rule(self, req: sip.CreateSIPDispatchRuleRequest, claims: Claims) -> Message:
        auth.require_sip_admin(claims)
        _check(req)
        rule = legacy.rule_from_create_request(req)
        _upgrade_media(rule)  # Upgrade() runs on dispatch-rule create (docs/livekit.md#api-updates)
        # docs/livekit.md#rule-conflicts, OSS-style: stored rules sorted by id, the new one last.
        return self._create(RULE, rule, ids.DISPATCH_RULE, self._rule_creates, lambda tx: tx.all(RULE))

    async def update_dispatch_rule(self, req: sip.UpdateSIPDispatchRuleRequest, claims: Claims) -> Message:
        auth.require_sip_admin(claims)
        _check(req)
        return self._update(
            RULE, req, req.sip_dispatch_rule_id, RULE_NOT_FOUND, updates.apply_dispatch_rule_update,
            check=lambda tx, result: _invalid_or_none(
                rules.validate_rules(_replaced(tx.all(RULE), result, RULE))
            ),
        )

    async def list_dispatch_rule(self, req: sip.ListSIPDispatchRuleRequest, claims: Claims) -> Message:
        auth.require_sip_admin(claims)
        return sip.ListSIPDispatchRuleResponse(items=filters.filter_dispatch_rules(self.store.all(RULE), _all_pages(req)))

    async def delete_dispatch_rule(self, req: sip.DeleteSIPDispatchRuleRequest, claims: Claims) -> Message:
        """Loads first, so an unknown id is not_found; returns the deleted rule."""
        auth.require_sip_admin(claims)
        if not req.sip_dispatch_rule_id:
            raise LiveKitError(INVALID_ARGUMENT, "dispatch rule ID is required")
        with self.store.write() as tx:
            current = tx.get(RULE, req.sip_dispatch_rule_id)
            if current is None:
                raise LiveKitError(NOT_FOUND, RULE_NOT_FOUND)
            tx.delete(RULE, req.sip_dispatch_rule_id)
        return current

    # -- calls --------------------------------------------------------------------------------

    async def create_sip_participant(self, req: sip.CreateSIPParticipantRequest, claims: Claims) -> Message:
        auth.require_sip_call(claims)
        _check(req)
        if req.sip_trunk_id:
            self._get_trunk(self._outbound(self.store), req.sip_trunk_id)  # unknown id -> not_found
        if self.backend is None:
            raise no_backend_error()
        return await self.backend.create_sip_participant(req)

    async def transfer_sip_participant(self, req: sip.TransferSIPParticipantRequest, claims: Claims) -> Message:
        """docs/livekit.md#transfer-validation: room and identity first, then permissions,
        validation, the lookup."""
        if not req.room_name:
            raise LiveKitError(INVALID_ARGUMENT, "Missing room name")
        if not req.participant_identity:
            raise LiveKitError(INVALID_ARGUMENT, "Missing participant identity")
        auth.require_sip_call(claims)
        auth.require_room_admin(claims, req.room_name)
        _check(req)
        participant = self.rooms.get_participant(req.room_name, req.participant_identity)
        if "sip.callID" not in participant.attributes:
            raise LiveKitError(INVALID_ARGUMENT, NO_SIP_SESSION)
        if self.backend is None:
            raise no_backend_error()
        await self.backend.transfer_sip_participant(req)
        # The backend returns once the transfer succeeded; failures arrive as LiveKitError.
        return sip.TransferSIPParticipantResponse(
            transfer_id=ids.new_id(ids.TRANSFER), status=sip.SIPTransferStatus.STS_TRANSFER_SUCCESSFUL
        )
