"""Dedup (penunggalan): 1:N de-duplication with the built-in open matcher or an external ABIS;
pausable without loss; adjudication of candidate matches."""
