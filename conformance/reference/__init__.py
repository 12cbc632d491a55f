"""The reference target: a real Flowise 3.1.4, installed and run locally, as the suite's yardstick.

`python -m conformance.reference` installs it (cached), starts it with the mock's OpenAI-compatible
endpoint as its LLM, bootstraps an account and API keys with no UI, creates the reference flows, runs
the conformance suite against it, compares it with the mock exchange by exchange, and stops
everything it started. See README.md in this folder.
"""

from __future__ import annotations
