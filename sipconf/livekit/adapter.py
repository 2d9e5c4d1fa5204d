"""The adapter over `livekit-api`: the only network code of the compiler. It reads and writes;
it never decides.

Every request has a timeout, `Target.timeout` (`--timeout`): each attempt runs under
`asyncio.wait_for`. The session's aiohttp timeout is not enough: livekit-api passes
`timeout=None` per request, which aiohttp takes as "no timeout", so a server that accepts the
connection and never answers would hold the command until the peer drops it. A timed-out
attempt is retried like `unavailable`; requests are retried with backoff on
`resource_exhausted`, HTTP 429 and `unavailable` (sipconf.livekit.retry). Errors
become one clear `UserError` line; an auth failure names the URL and the key. A real server's
auth failure is a plain-text 401, which the client surfaces as code "unknown", empty message,
status 401 (docs/livekit.md#api-errors), so auth is recognised by the status, not the code.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from google.protobuf.message import Message
from livekit import api
from livekit.api.twirp_client import ServerError
from livekit.protocol import sip

from sipconf.errors import UserError
from sipconf.livekit.live import LiveState
from sipconf.livekit.retry import RetryPolicy
from sipconf.livekit.target import Target
from sipconf.model.kinds import INBOUND, OUTBOUND, RULE


class LockHeld(UserError):
    """Another apply holds the target's apply lock; `holder` names it when the target said."""

    def __init__(self, *lines: str, holder: str = "") -> None:
        super().__init__(*lines)
        self.holder = holder


class LiveKitAdapter:
    """`async with LiveKitAdapter(target) as lk:` then `fetch`, `create`, `replace`, `delete`."""

    def __init__(self, target: Target, *, timeout: float | None = None, retry: RetryPolicy | None = None) -> None:
        self.target = target
        self.timeout = target.timeout if timeout is None else timeout
        self.retry = retry or RetryPolicy()
        self.writes = 0
        self._api: api.LiveKitAPI | None = None

    async def __aenter__(self) -> LiveKitAdapter:
        try:
            self._api = api.LiveKitAPI(
                self.target.url,
                self.target.api_key,
                self.target.api_secret,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        except ValueError as err:
            raise UserError(f"cannot use LiveKit target {self.target.url}: {err}") from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._api is not None:
            await self._api.aclose()
            self._api = None

    # -- reads -----------------------------------------------------------------------------
    async def fetch(self) -> LiveState:
        """Every inbound trunk, outbound trunk and dispatch rule (lists have no paging,
        docs/livekit.md#api-server)."""
        s = self._sip
        inbound = await self._call("ListSIPInboundTrunk", "list inbound trunks", lambda: s.list_inbound_trunk(sip.ListSIPInboundTrunkRequest()))
        outbound = await self._call("ListSIPOutboundTrunk", "list outbound trunks", lambda: s.list_outbound_trunk(sip.ListSIPOutboundTrunkRequest()))
        rules = await self._call("ListSIPDispatchRule", "list dispatch rules", lambda: s.list_dispatch_rule(sip.ListSIPDispatchRuleRequest()))
        return LiveState(tuple(inbound.items), tuple(outbound.items), tuple(rules.items))

    async def list_outbound(self) -> tuple[Message, ...]:
        """Every outbound trunk: what a ledger save reads to see its shards as they are now."""
        s = self._sip
        found = await self._call("ListSIPOutboundTrunk", "list outbound trunks", lambda: s.list_outbound_trunk(sip.ListSIPOutboundTrunkRequest()))
        return tuple(found.items)

    # -- writes ----------------------------------------------------------------------------
    async def create(self, kind: str, msg: Message) -> Message:
        s = self._sip
        what = f"create {kind.replace('_', ' ')} {msg.name!r}"
        if kind == INBOUND:
            method, call = "CreateSIPInboundTrunk", lambda: s.create_inbound_trunk(sip.CreateSIPInboundTrunkRequest(trunk=msg))
        elif kind == OUTBOUND:
            method, call = "CreateSIPOutboundTrunk", lambda: s.create_outbound_trunk(sip.CreateSIPOutboundTrunkRequest(trunk=msg))
        else:
            method, call = "CreateSIPDispatchRule", lambda: s.create_dispatch_rule(sip.CreateSIPDispatchRuleRequest(dispatch_rule=msg))
        return await self._write(method, what, call)

    async def replace(self, kind: str, live_id: str, msg: Message) -> Message:
        """`replace` swaps the whole object (docs/livekit.md#api-updates): lists can be cleared this
        way, which the `*_fields` helpers cannot do (docs/livekit.md#api-client)."""
        s = self._sip
        what = f"update {kind.replace('_', ' ')} {msg.name!r} ({live_id})"
        if kind == INBOUND:
            method, call = "UpdateSIPInboundTrunk", lambda: s.update_inbound_trunk(live_id, msg)
        elif kind == OUTBOUND:
            method, call = "UpdateSIPOutboundTrunk", lambda: s.update_outbound_trunk(live_id, msg)
        else:
            method, call = "UpdateSIPDispatchRule", lambda: s.update_dispatch_rule(live_id, msg)
        return await self._write(method, what, call)

    async def delete(self, kind: str, live_id: str) -> None:
        s = self._sip
        what = f"delete {kind.replace('_', ' ')} {live_id}"
        if kind == RULE:
            try:
                await self._write(
                    "DeleteSIPDispatchRule", what,
                    lambda: s.delete_dispatch_rule(sip.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=live_id)),
                )
            except _NotFound:
                pass  # already gone: deleting is idempotent (a rerun after an interrupted apply)
        else:
            # DeleteSIPTrunk succeeds for unknown ids on OSS (docs/livekit.md#api-deletes).
            await self._write("DeleteSIPTrunk", what, lambda: s.delete_trunk(sip.DeleteSIPTrunkRequest(sip_trunk_id=live_id)))

    # -- the embedded control plane's apply lock (sipconf.local.lock) ----------------------
    async def acquire_lock(self, owner: str, ttl_seconds: float) -> bool:
        """True when the target holds the lock for us; False when it offers no lock.

        Raises LockHeld when another owner holds it.
        """
        status, doc = await self._local("AcquireLock", {"owner": owner, "ttl_seconds": ttl_seconds})
        if status == 200:
            return True
        if status == 409 or doc.get("code") == "aborted":
            meta = doc.get("meta") if isinstance(doc.get("meta"), dict) else {}
            raise LockHeld(
                f"another apply is running against {self.target.url}: {doc.get('msg', 'lock held')}",
                holder=str(meta.get("owner", "")),
            )
        if status == 401:
            raise self._auth_error(doc.get("msg", ""))
        return False

    async def release_lock(self, owner: str) -> bool:
        """Release the lock held as `owner`; False when `owner` does not hold it."""
        status, _doc = await self._local("ReleaseLock", {"owner": owner})
        return status == 200

    async def _local(self, method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        token = (
            api.AccessToken(self.target.api_key, self.target.api_secret)
            .with_sip_grants(api.SIPGrants(admin=True))
            .to_jwt()
        )
        base = self.target.url.rstrip("/").replace("wss://", "https://", 1).replace("ws://", "http://", 1)
        session = self._api._session  # the client's session: same connection pool

        async def post() -> tuple[int, dict[str, Any]]:
            async with session.post(
                f"{base}/twirp/sipconf.Local/{method}",
                data=json.dumps(body),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            ) as resp:
                try:
                    doc = await resp.json(content_type=None)
                except ValueError:
                    doc = {}
                return resp.status, doc if isinstance(doc, dict) else {}

        try:
            return await asyncio.wait_for(post(), self.timeout)
        except asyncio.TimeoutError:
            raise self._timeout_error(f"sipconf.Local/{method}", 1) from None
        except aiohttp.ClientError as err:
            raise self._transport_error(err) from None

    # -- plumbing --------------------------------------------------------------------------
    @property
    def _sip(self) -> Any:
        if self._api is None:
            raise RuntimeError("LiveKitAdapter used outside `async with`")
        return self._api.sip

    async def _write(self, method: str, what: str, call: Any) -> Any:
        result = await self._call(method, what, call)
        self.writes += 1
        return result

    async def _call(self, method: str, what: str, call: Any) -> Any:
        """Run one Twirp `method` (`what` in words) with a timeout per attempt, retried."""
        try:
            return await self.retry.run(lambda: asyncio.wait_for(call(), self.timeout))
        except ServerError as err:
            if err.status == 401:
                raise self._auth_error(err.message) from None
            if err.code == "not_found":
                raise _NotFound(f"{what}: {err.message}") from None
            if err.code == "invalid_argument" and err.message.startswith(CONFLICT_PREFIXES):
                raise Conflict(f"LiveKit at {self.target.url} refused to {what}: {err.code}: {err.message}") from None
            detail = err.message or f"HTTP {err.status}"
            raise UserError(f"LiveKit at {self.target.url} refused to {what}: {err.code}: {detail}") from None
        except asyncio.TimeoutError:
            raise self._timeout_error(f"livekit.SIP/{method}", self.retry.attempts) from None
        except aiohttp.ClientError as err:
            raise self._transport_error(err) from None

    def _auth_error(self, detail: str) -> UserError:
        why = f" ({detail})" if detail else ""
        return UserError(
            f"authentication failed at {self.target.url} with API key {self.target.api_key!r}{why}:"
            " check LIVEKIT_API_KEY and LIVEKIT_API_SECRET (the key needs the sip.admin grant)"
        )

    def _timeout_error(self, method: str, attempts: int) -> UserError:
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        return UserError(
            f"LiveKit at {self.target.url} did not answer {method} within {self.timeout:g}s{tries};"
            " check the URL, or give it longer with --timeout SECONDS"
        )

    def _transport_error(self, err: BaseException) -> UserError:
        return UserError(f"cannot reach LiveKit at {self.target.url}: {err}")


class _NotFound(UserError):
    pass


class Conflict(UserError):
    """LiveKit's trunk or dispatch-rule conflict check refused a write
    (docs/livekit.md#trunk-conflicts and #rule-conflicts).

    Often only an ordering problem within one apply (a number moving between trunks), so the
    engine retries the write after the others of its step.
    """


CONFLICT_PREFIXES = ("Conflicting inbound SIP Trunks", "Dispatch rule for the same trunk")
