"""Every rule id the tool can report, with the words reporters show for it. Data only."""

from __future__ import annotations

from typing import NamedTuple


class Rule(NamedTuple):
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
    Rule(
        "env-file-not-ignored",
        "EnvFileNotIgnored",
        "A dotenv file that no git ignore rule covers: the next `git add .` commits its keys.",
    ),
    Rule(
        "env-file-tracked",
        "EnvFileTracked",
        "A dotenv file that git tracks or that is staged for commit: its keys are in git.",
    ),
)

RULES_BY_ID = {rule.id: rule for rule in RULES}
