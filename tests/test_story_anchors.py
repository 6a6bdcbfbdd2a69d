"""Every sentence the development stories' answer key points at must survive ingest + segment.

An anchor of ../shared/stories/*/gold.json that lands in no claim is a *lost sentence*: no
threshold or rule downstream can find a conflict or a corroboration in it. This needs no model
(read + segment only), so it runs in a second. Skipped where the stories are not checked out.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STORIES = ROOT.parent / "shared" / "stories"

if not STORIES.is_dir():
    pytest.skip(f"no development stories at {STORIES}", allow_module_level=True)


def _story_key():
    """benchmarks/story_key.py, loaded by path: the folder is not a package, and a site-packages
    distribution named `benchmarks` would shadow it."""
    path = ROOT / "benchmarks" / "story_key.py"
    spec = importlib.util.spec_from_file_location("story_key", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("story_key", module)
    spec.loader.exec_module(module)
    return module


story_key = _story_key()
FOLDERS = story_key.story_folders(STORIES)


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_every_anchor_lands_in_a_claim(folder):
    from verify.ingest import read_articles
    from verify.segment import segment_articles

    story = story_key.load_story(folder)
    articles, problems = read_articles([story.articles_path])
    claims = story_key.with_gold_ids(articles, segment_articles(articles))
    lost = story_key.lost_anchors(story, claims)
    if lost:
        n_anchors = len({anchor for _, _, anchor in story.anchors()})
        pytest.fail(f"{len(lost)} of {n_anchors} anchors of {story.name} land in no claim:"
                    + "".join(f"\n  {line}" for line in story_key.describe_lost(lost, claims))
                    + "".join(f"\n  unread: {p}" for p in problems), pytrace=False)
