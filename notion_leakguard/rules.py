"""Every rule id the tool can report, with the words reporters show for it: the token rules
come from `patterns.TOKEN_FORMATS`, the dotenv rules are defined here. Data only."""

from __future__ import annotations

from typing import NamedTuple

from notion_leakguard.patterns import TOKEN_FORMATS


class Rule(NamedTuple):
    id: str
    name: str  # PascalCase, as SARIF wants it
    message: str  # a finding's short text
    description: str


def _rule(id: str, message: str, description: str) -> Rule:
    return Rule(id, "".join(word.capitalize() for word in id.split("-")), message, description)


ENV_NOT_IGNORED = _rule(
    "env-file-not-ignored",
    "dotenv file that no .gitignore rule covers",
    "A dotenv file that no git ignore rule covers: the next `git add .` commits its keys.",
)
ENV_TRACKED = _rule(
    "env-file-tracked",
    "dotenv file tracked by git or staged for commit",
    "A dotenv file that git tracks or that is staged for commit: its keys are in git.",
)

_TOKEN_RULES = {fmt.rule: _rule(fmt.rule, fmt.message, fmt.description) for fmt in TOKEN_FORMATS}
RULES: tuple[Rule, ...] = (*_TOKEN_RULES.values(), ENV_NOT_IGNORED, ENV_TRACKED)
RULES_BY_ID = {rule.id: rule for rule in RULES}
