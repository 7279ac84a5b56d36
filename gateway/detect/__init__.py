"""Streaming detectors of the gateway's signal-processing core.

Each is a pure streaming object: explicit state in, (state, events) out, time taken from the
samples and never from the wall clock, causal filters with carried state, arrays shaped
streams x samples. Feeding a signal in chunks gives exactly the events of feeding it whole.
"""
