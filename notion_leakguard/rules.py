"""Every rule id the tool can report, with the words reporters and `rules` show for it: the
token rules come from `patterns.TOKEN_FORMATS`, the dotenv rules are defined here. Data only."""

from __future__ import annotations

from typing import NamedTuple

from notion_leakguard.patterns import TOKEN_FORMATS


class Rule(NamedTuple):
    id: str
    name: str  # PascalCase, as SARIF wants it
    message: str  # a finding's short text
    description: str
    shape: str  # what it looks like
    documented: str  # where that is documented
    remedy: str  # what to do about a finding


def _rule(
    id: str, message: str, description: str, shape: str, documented: str, remedy: str
) -> Rule:
    name = "".join(word.capitalize() for word in id.split("-"))
    return Rule(id, name, message, description, shape, documented, remedy)


_GITIGNORE = "https://git-scm.com/docs/gitignore"
ENV_NOT_IGNORED = _rule(
    "env-file-not-ignored",
    "dotenv file that no .gitignore rule covers",
    "A dotenv file that no git ignore rule covers: the next `git add .` commits its keys.",
    "a file named .env, .env.<anything> or <name>.env in the work tree (file-level, line 0)",
    _GITIGNORE,
    "Cover it with .gitignore: `notion-leakguard check-env --fix` appends the missing rules.",
)
ENV_TRACKED = _rule(
    "env-file-tracked",
    "dotenv file tracked by git or staged for commit",
    "A dotenv file that git tracks or that is staged for commit: its keys are in git.",
    "a dotenv file in the index (file-level, line 0)",
    _GITIGNORE,
    "Stop tracking it (`git rm --cached -- FILE`; the file stays on disk), cover it with "
    ".gitignore and commit; rotate every key it ever held, which stay in git history.",
)

_TOKEN_RULES = {
    fmt.rule: _rule(fmt.rule, fmt.message, fmt.description, fmt.shape, fmt.documented, fmt.remedy)
    for fmt in TOKEN_FORMATS
}
RULES: tuple[Rule, ...] = (*_TOKEN_RULES.values(), ENV_NOT_IGNORED, ENV_TRACKED)
RULES_BY_ID = {rule.id: rule for rule in RULES}
