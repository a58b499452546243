"""The key inventory: every distinct Notion key that a set of repositories ever held.

- `records`: what one repository's scan sends back (occurrences: previews, fingerprints and
  places, never a key) and the inventory built from them;
- `mirror`: clone URLs mirrored into a cache directory, fetched again on the next run;
- `collect`: one repository's full history and working tree, in whichever process runs it;
- `run`: many repositories, in local processes or as tasks of a Dask cluster;
- `keys`: occurrences grouped into keys, with what is called out (reuse across
  repositories or environments);
- `report` and `html`: the reports.
"""
