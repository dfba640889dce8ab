"""Orchestration: the only place where the pure core and the adapters meet.

Each job is ``async def run(job_or_args, ctx: Context) -> result`` with an explicit
:class:`~bot.jobs.context.Context`, so the same functions run inline (CLI, Action), in the embedded
server queue, or on scale-out workers.
"""
