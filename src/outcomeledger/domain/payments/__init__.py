"""The payment arithmetic (DESIGN 5), pricing rules and the schedule it produces.
"""
