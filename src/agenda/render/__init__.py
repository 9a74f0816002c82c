"""Pure functions from the model to bytes: one module per output format.

Nothing here reads the clock, the request or the environment: same schedule, same bytes.
"""
