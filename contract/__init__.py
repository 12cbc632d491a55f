"""The contract core: what the mock, the suite, the load tool and the reference harness share.

``contract.spec`` reads the spec (document, references, formats, the ``x-flowise-*`` extensions);
``contract.sse`` parses Flowise's prediction streams. Nothing here imports the tools built on it.
"""
