"""What clients ask the local venue about the API key and the account before trading.

ccxt's ``load_markets`` asks ``/v5/asset/coin/query-info`` (the coins, when a key is set) and its
``fetch_balance`` asks ``/v5/user/query-api`` and ``/v5/account/info`` (is the account unified?),
then ``/v5/account/wallet-balance``.
The answers describe the one account the local venue serves: by default a unified trading account
(UTA 2.0, ``account_mode.UTA_2_PRO``)
whose key may trade derivatives, in Bybit's shapes. ``account_info`` is a minimal answer; the
REST server consults these handlers only for paths its own routes do not answer, so a fuller
account endpoint there takes precedence.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from asnd.venues.bybit.local.exchange import Exchange

__all__ = ["account_info", "api_key_info", "coin_info", "wallet_balance"]

Params = dict[str, Any]
UID: Final = 1001  # the account's user id


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _coin_row(coin: str) -> dict[str, Any]:
    chain = {
        "chainType": coin, "confirmation": "10", "withdrawFee": "0", "depositMin": "0",
        "withdrawMin": "0", "chain": coin, "chainDeposit": "1", "chainWithdraw": "1",
        "minAccuracy": "8", "withdrawPercentageFee": "0", "contractAddress": "",
        "safeConfirmNumber": "10",
    }  # fmt: skip
    return {"name": coin, "coin": coin, "remainAmount": "1000000", "chains": [chain]}


def coin_info(ex: Exchange, p: Params, api_key: str, now_ms: int) -> Any:
    """``/v5/asset/coin/query-info``: the coins the venue's symbols settle in or trade."""
    coins = sorted({"USDT"} | {s.removesuffix("USDT") for s in ex.markets})
    wanted = p.get("coin")
    return {"rows": [_coin_row(c) for c in coins if not wanted or c == wanted]}


def api_key_info(ex: Exchange, p: Params, api_key: str, now_ms: int) -> Any:
    """``/v5/user/query-api``: the key asking, read-write, allowed to trade derivatives, on a
    unified account. Never the secret: Bybit sends ``secret`` empty, so does this."""
    return {
        "id": "1", "note": "local venue", "apiKey": api_key, "readOnly": 0, "secret": "",
        "permissions": {
            "ContractTrade": ["Order", "Position"], "Spot": [], "Wallet": ["AccountTransfer"],
            "Options": [], "Derivatives": [], "CopyTrading": [], "BlockTrade": [],
            "Exchange": [], "NFT": [], "Affiliate": [],
        },
        "ips": ["*"], "type": 1, "deadlineDay": -2, "expiredAt": "", "createdAt": _iso(0),
        "unified": 0, "uta": int(ex.mode.unified_status != 1), "userID": UID, "inviterID": 0,
        "vipLevel": "No VIP",
        "mktMakerLevel": "0", "affiliateID": 0, "rsaPublicKey": "", "isMaster": True,
        "parentUid": "0", "kycLevel": "LEVEL_DEFAULT", "kycRegion": "",
    }  # fmt: skip


def account_info(ex: Exchange, p: Params, api_key: str, now_ms: int) -> Any:
    """``/v5/account/info`` (minimal): a unified account (``AccountMode``: or a classic one)
    in regular cross margin."""
    return {
        "marginMode": "REGULAR_MARGIN", "updatedTime": "0",
        "unifiedMarginStatus": ex.mode.unified_status,
        "dcpStatus": "OFF", "timeWindow": 10, "smpGroup": 0, "isMasterTrader": False,
        "spotHedgingStatus": "OFF",
    }  # fmt: skip


def wallet_balance(ex: Exchange, p: Params, api_key: str, now_ms: int) -> Any:
    """``/v5/account/wallet-balance``: the ledger's wallet (``Exchange.wallet_row``)."""
    return {"list": [ex.wallet_row(p.get("accountType", "UNIFIED"))]}
