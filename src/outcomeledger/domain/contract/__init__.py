"""One contract stream: its state (the fold), the decider, the checks on a return, and validity
(every stored event decided again).
"""
