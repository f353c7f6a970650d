"""The knowledge base on the command line.

    python -m bot.knowledge seed [--url URL]     load knowledge/*.yml topics not yet in the records
    python -m bot.knowledge report [--url URL]   what awaits the centre's confirmation (make policy-report)
    python -m bot.knowledge export [--data DIR]  desk-added topics' examples → data/nlu/faq_desk.yml

``seed`` is idempotent: a topic already in the records is left as staff keep
it. ``report`` lists, for every topic, the version in force today, the
sources still to be confirmed and the facts its answer names as not yet
confirmed, and the topics with no version in force.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.knowledge.content import GRADE_NAMES
from bot.knowledge.seed import SeedError, read_seed
from bot.records.clock import shanghai_date
from bot.records.db import session_scope
from bot.records.knowledge import search_topics, version_in_force
from bot.records.knowledge_editing import load_seed
from bot.records.migrate import upgrade
from bot.settings import load_settings


def seed(url: str) -> int:
    try:
        topics = read_seed()
    except SeedError as exc:
        print(f"knowledge seed refused: {exc}", file=sys.stderr)
        return 1
    upgrade(url)
    with session_scope(url) as session:
        added = load_seed(session, topics)
    print(f"knowledge base: {added} topic(s) loaded, {len(topics) - added} already present")
    return 0


def report(url: str) -> int:
    today = shanghai_date()
    pending = missing = 0
    with session_scope(url) as session:
        topics = search_topics(session)
        for topic in topics:
            version = version_in_force(session, topic, today)
            if version is None:
                missing += 1
                print(f"{topic.category} {topic.key} {topic.title}: ! no version in force today")
                continue
            until = f" .. {version.effective_until}" if version.effective_until else ""
            print(f"{topic.category} {topic.key} {topic.title}: v{version.number} "
                  f"from {version.effective_from}{until}, grade {GRADE_NAMES.get(version.grade, '?')}")
            for source in version.sources:
                if not source.get("confirmed"):
                    pending += 1
                    print(f"    ! to confirm [{source.get('grade')}] {source.get('date')}  "
                          f"{source.get('source')}")
            for fact in version.unconfirmed or ():
                pending += 1
                print(f"    ? unsourced: {fact}")
    print(f"\n{len(topics)} topics; {missing} without a version in force today; "
          f"{pending} source(s) or fact(s) await confirmation by the centre before go-live.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.knowledge",
                                     description="The policy knowledge base.")
    parser.add_argument("command", choices=("seed", "report", "export"))
    parser.add_argument("--url", help="database URL (default: DATABASE_URL)")
    parser.add_argument("--data", default="data", help="training data directory (export)")
    args = parser.parse_args(argv)
    url = args.url or load_settings().database_url
    if args.command == "seed":
        return seed(url)
    if args.command == "report":
        return report(url)
    from bot.knowledge.release import export_examples

    print(export_examples(url, args.data).summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
