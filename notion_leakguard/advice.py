"""What the text report says to do about a key, by where it was found: a file, the staged
changes, history, a push (client or server), a commit message. Text only."""

from __future__ import annotations

SCAN_ADVICE = """\
What to do now:
  1. Remove the key from the file. Keep it in an environment variable, or in a .env file
     that .gitignore covers, and read it from there.
  2. Rotate it: in Notion open Settings > Connections > Develop or manage integrations,
     pick the integration and press Refresh next to its secret. The old key stops working.
  3. Review recent activity in the workspace (pages shared with the integration, the audit
     log on Enterprise plans) for anything done with the key.
"""

STAGED_ADVICE = """\
Refused: a Notion key is about to be committed or pushed. What to do now:
  1. Unstage the file (git restore --staged -- FILE) and remove the key from it. Keep the
     key in an environment variable, or in a .env file that .gitignore covers.
  2. Stage the file again and commit (for a key in an earlier commit: amend or rebase).
  3. If the key was ever pushed or shared, rotate it: in Notion open Settings > Connections >
     Develop or manage integrations, pick the integration and press Refresh next to its
     secret; then review recent activity in the workspace.
"""

_ROTATE = """\
     rotate it: in Notion open Settings > Connections > Develop or manage integrations,
     pick the integration and press Refresh next to its secret; then review recent
     activity in the workspace."""

PUSH_ADVICE = f"""\
Refused: the commits being pushed carry a Notion key. Nothing was pushed. What to do now:
  1. Rewrite the commits that hold it. The last commit: remove the key (or edit the
     message) and run  git commit --amend . An older one:  git rebase -i COMMIT^ , mark
     the commit `edit` (`reword` for a message), remove the key, then  git commit --amend
     and  git rebase --continue .
  2. Keep the key in an environment variable or in a .env file that .gitignore covers,
     and push again.
  3. If the key was ever pushed or shared anywhere else,
{_ROTATE}
"""

RECEIVE_ADVICE = PUSH_ADVICE.replace(
    "Refused: the commits being pushed carry a Notion key. Nothing was pushed.",
    "Refused by the server: the commits pushed carry a Notion key. No ref was updated.",
)

MESSAGE_ADVICE = f"""\
Refused: the commit message holds a Notion key. No commit was made. What to do now:
  1. Write the message again without the key (git keeps your text in .git/COMMIT_EDITMSG).
  2. If the key was ever pushed or shared,
{_ROTATE}
"""

SHARED_ADVICE = """\
  One key in several environments: rotating it for one breaks the others, and whoever reads
  one environment's file holds the others' key. Create an integration per environment in
  Notion (Settings > Connections > Develop or manage integrations), each with its own key,
  move each environment to its own, then rotate the shared one.
"""

HISTORY_ADVICE = """\
These keys were committed. Anyone with a clone has them, so removing them from HEAD is not
enough. What to do now:
  1. Rotate each key: in Notion open Settings > Connections > Develop or manage
     integrations, pick the integration and press Refresh next to its secret. The old key
     stops working everywhere, history included.
  2. Review recent activity in the workspace for anything done with the key.
  3. Remove the key from the current files if it is still there ("still at HEAD"), and keep
     it in an environment variable or an ignored .env from now on.
  4. Only if the team decides to rewrite history (every clone must then be re-cloned):
     git filter-repo --replace-text FILE, with the old key on a line of FILE; then force-push
     and ask hosts to purge caches. Rotating comes first either way.
"""
