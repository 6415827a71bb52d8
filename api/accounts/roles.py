"""What each role may change: the one table, read by the GraphQL mutations
(`api.graphql.permissions.require`) and by the HTTP endpoints (the statements export).

Reads are open to every role, but an INFLUENCER's are narrowed to its own rows by
`api.graphql.permissions.scoped`.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from api.models.enums import Role


class Action(NamedTuple):
    what: str  # for the refusal: "An INFLUENCER key cannot <what>"
    roles: frozenset[Role]


def _action(what: str, *roles: Role) -> Action:
    return Action(what, frozenset(roles))


ACTIONS: Final = {
    "brands": _action("manage brands or their postback secrets", Role.ADMIN),
    "influencers": _action("change influencers", Role.ADMIN, Role.MANAGER),
    "campaigns": _action("change campaigns", Role.ADMIN, Role.MANAGER),
    "partnerships": _action("change partnerships", Role.ADMIN, Role.MANAGER),
    "content_review": _action("review content", Role.ADMIN, Role.MANAGER),
    "content_submit": _action("submit content", Role.ADMIN, Role.MANAGER, Role.INFLUENCER),
    "partnership_response": _action(
        "answer an invitation", Role.ADMIN, Role.MANAGER, Role.INFLUENCER
    ),
    # An INFLUENCER key reports its own deliverables' results only (scoped), as SELF_REPORTED.
    "post_metrics": _action("record post results", Role.ADMIN, Role.MANAGER, Role.INFLUENCER),
    "post_metrics_import": _action("import post results", Role.ADMIN, Role.MANAGER),
    "tracking": _action("issue or deactivate links and discount codes", Role.ADMIN, Role.MANAGER),
    "finance": _action(
        "approve commissions, adjust the ledger, pay out or export statements",
        Role.ADMIN,
        Role.FINANCE,
    ),
    "payout_details": _action(
        "change payout details or tax profiles (only the influencer itself or an ADMIN may)",
        Role.ADMIN,
        Role.INFLUENCER,
    ),
    "debtor_account": _action("change the organization's own bank account", Role.ADMIN),
    "contract_sign": _action("sign a contract (only the influencer may)", Role.INFLUENCER),
    "disclosure_override": _action("override a failed disclosure check", Role.ADMIN),
    "live_posts": _action(
        "recheck live posts, resolve their findings or set usage rights", Role.ADMIN, Role.MANAGER
    ),
    "risk_policy": _action("set the brand's creator-risk hold level", Role.ADMIN),
    "exclusivity_override": _action("invite an influencer despite an exclusivity", Role.ADMIN),
    "api_keys": _action("list, create or revoke API keys", Role.ADMIN),
    "webhooks": _action("manage webhook endpoints or replay their deliveries", Role.ADMIN),
    "users": _action("list, invite, change or remove users", Role.ADMIN),
    "programs": _action(
        "run ambassador programs (levels, invitations, reviews, retainers, bonuses)",
        Role.ADMIN,
        Role.MANAGER,
    ),
    "program_apply": _action(
        "apply to an ambassador program (only the influencer may)", Role.INFLUENCER
    ),
    # The influencer itself (its own membership, scoped) or the brand.
    "program_leave": _action("end a program membership", Role.ADMIN, Role.MANAGER, Role.INFLUENCER),
    "shipments": _action("ship gifted product", Role.ADMIN, Role.MANAGER),
}


def may(role: Role, action: str) -> bool:
    return role in ACTIONS[action].roles


def refusal(role: Role, action: str, who: str = "key") -> str:
    """Why `role` may not do `action`, and which keys (or users: `who`) may, for the person who
    sees it."""
    what, roles = ACTIONS[action]
    allowed = [r.value for r in Role if r in roles]  # in Role's order: ADMIN first
    needed = " or ".join(allowed)
    article = _a(role.value).capitalize()
    return f"{article} {role.value} {who} cannot {what}: this needs {_a(needed)} {needed} {who}"


def _a(word: str) -> str:
    return "an" if word[:1] in "AEIOU" else "a"
