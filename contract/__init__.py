"""The contract core: what the mock, the suite, the load tool and the reference harness share.

``contract.spec`` reads the spec (document, references, formats, the ``x-flowise-*`` extensions);
``contract.sse`` parses Flowise's prediction streams; ``contract.deviations`` reads the catalogue of known
upstream deviations (``conformance/deviations.toml``, shipped here) and recognises them;
``contract.process`` starts, waits for and stops the servers the tools run beside themselves; ``contract.argv`` keeps an option's value that begins with "-"
(an API key) its own. Nothing here imports the tools built on it (``serve_in_thread`` takes the app it
serves as an argument).
"""
