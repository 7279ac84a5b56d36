"""Fuzzing of every boundary parser: a structure-aware, seeded mutation loop.

Each target (:mod:`bench.fuzzing.serial_targets`, :mod:`bench.fuzzing.mqtt_targets`) turns a
random generator into one input (mutated valid examples from :mod:`bench.fuzzing.corpus`, or
pure random bytes), hands it to the real parser and judges the result: accepted, rejected with
the parser's own reason code, or a crash (any other exception, or a broken invariant).
:mod:`bench.fuzzing.campaign` runs the targets and keeps the tally; ``python -m bench.fuzz``
is the command line. Everything is deterministic given the seed.
"""
