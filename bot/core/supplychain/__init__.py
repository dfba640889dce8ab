"""Supply-chain evidence for proposed images: cosign signatures, in-toto attestations, the gate.

Pure: decoding (:mod:`.evidence`), offline key verification (:mod:`.verify`) and the per-rule
``require:`` gate (:mod:`.gate`). The registry adapter fetches the documents.
"""
