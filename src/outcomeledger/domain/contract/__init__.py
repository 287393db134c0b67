"""One contract stream: its records and state (the fold), the decider, the checks on a command
and on a return, the warnings on a return, and validity (every stored event decided again).
"""
