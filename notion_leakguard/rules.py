"""Every rule id the tool can report, with the words reporters show for it. Data only."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    name: str  # PascalCase, as SARIF wants it
    description: str


RULES: tuple[Rule, ...] = (
    Rule(
        "notion-api-token",
        "NotionApiToken",
        "A Notion internal integration token (ntn_…). It grants read and write access to "
        "every page and database shared with the integration.",
    ),
    Rule(
        "notion-legacy-token",
        "NotionLegacyToken",
        "A Notion integration token or OAuth client secret in the legacy secret_… format.",
    ),
    Rule(
        "notion-token-v2-cookie",
        "NotionTokenV2Cookie",
        "A Notion token_v2 browser session cookie: full access to the user's account.",
    ),
)

RULES_BY_ID = {rule.id: rule for rule in RULES}
