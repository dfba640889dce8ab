"""Where the shared, read-only test data lives (``../shared/testdata`` beside the checkout)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("FLUXBOT_SHARED", REPO.parent / "shared"))
TESTDATA = SHARED / "testdata"
ONEDR0P = TESTDATA / "onedr0p-home-ops"
FLUX_EXAMPLE = TESTDATA / "flux2-kustomize-helm-example"
FLUX_CRDS = TESTDATA / "flux-crds"
GITLAB_WEBHOOKS = TESTDATA / "gitlab-webhooks" / "testdata" / "webhooks"
IN_CI = os.environ.get("CI") == "true"
