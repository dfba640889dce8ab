"""Planning as named steps that return values: extract → lookup → decide → group → write.

Every step but *lookup* is a pure function here; *lookup* is I/O (the registry's tags, then the
digests the decisions need, then, for PR bodies, each new image's source link) and lives in
:mod:`bot.jobs.plan`, which runs the steps in one straight line::

    found = extract(tree, config, mirrors)                 # bot.core.plan.extract
    tags = await lookup_tags(registry, found.images)       # bot.jobs.plan (I/O)
    decided = decide(found, tags, ignores)                 # bot.core.plan.decide
    digests = await lookup_digests(registry, decided.digest_refs)
    settled = settle(found, decided, digests)
    groups, _ = group(settled.planned, config.group)       # bot.core.plan.group
    written, _ = write(tree, groups, settled.results)

Each step returns its :class:`~bot.core.plan.model.Problem` values; nothing is appended to a list
shared across steps. A new kind of reference (compose files, chart values, annotations) is one
more :data:`~bot.core.plan.model.SiteExtractor` in :data:`bot.core.plan.extract.EXTRACTORS`.
"""
